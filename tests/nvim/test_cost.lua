-- What it costs: per-buffer totals, the statusline, reported and estimated costs, the budget,
-- the ledger's rows, a broken ledger, a reopened file, :AmiUsage.
local h = require('helpers')
local api = vim.api

local T = {}

local function ledger_path(name)
  return h.tmp .. '/' .. name .. '.sqlite3'
end

local function sql(path, query)
  local out = vim.fn.system({ 'sqlite3', '-separator', '|', path, query })
  return vim.trim(out)
end

local function answers_in(doc)
  local t = require('ami.thread').get(doc, false)
  return t and t.finished and #t.finished or 0
end

local function critique(doc, n)
  api.nvim_set_current_buf(doc)
  vim.cmd('1Critique')
  h.wait(function()
    return answers_in(doc) >= n
  end, 10000, 'answer ' .. n)
end

T[#T + 1] = { 'costs_go_to_the_buffer_they_were_asked_from', function()
  h.use_fake('fake/hello', { ledger = { path = ledger_path('attr') } })
  local a = h.document({ 'alpha' }, 'a.md')
  local b = h.document({ 'beta' }, 'b.md')
  critique(a, 1)
  critique(a, 2)
  critique(b, 1)
  local ca, cb = require('ami').cost(a), require('ami').cost(b)
  h.eq(2, ca.requests)
  h.eq(1, cb.requests)
  h.eq(12, ca.completion_tokens)
  h.eq(6, cb.completion_tokens)
  h.eq(false, ca.estimated)
  -- The fake provider charges 3e-6 per prompt token and 15e-6 per completion token.
  local function price(c)
    return c.prompt_tokens * 3e-6 + c.completion_tokens * 15e-6
  end
  h.ok(math.abs(ca.cost_usd - price(ca)) < 1e-9, 'reported cost of a: ' .. ca.cost_usd)
  h.ok(math.abs(cb.cost_usd - price(cb)) < 1e-9, 'reported cost of b')
  -- From the thread buffer: the cost of its document.
  h.eq(ca, require('ami').cost(require('ami.thread').get(a).buf))
  -- The current buffer by default.
  api.nvim_set_current_buf(b)
  h.eq(cb, require('ami').cost(0))
  h.eq(cb, require('ami').cost())
end }

T[#T + 1] = { 'the_statusline_shows_the_current_buffers_spending', function()
  h.use_fake('fake/hello', { ledger = { path = ledger_path('status') } })
  local doc = h.document({ 'text' })
  h.eq('', require('ami').statusline(), 'nothing spent yet')
  critique(doc, 1)
  local c = require('ami').cost(doc)
  local want = ('ami %s · %d tok'):format(require('ami.cost').format_usd(c.cost_usd, 'reported'),
    c.prompt_tokens + c.completion_tokens)
  h.eq(want, require('ami').statusline())
  h.ok(want:match('^ami %$0%.%d+ · %d+ tok$'), want)
  h.eq('', (function()
    vim.cmd('enew')
    return require('ami').statusline()
  end)(), 'another buffer spent nothing')
  h.eq('$0.0045', require('ami.cost').format_usd(0.0045, 'reported'))
  h.eq('$0.000012', require('ami.cost').format_usd(0.000012, 'reported'))
  h.eq('$1.23', require('ami.cost').format_usd(1.234, 'reported'))
  h.eq('cost unknown', require('ami.cost').format_usd(0 / 0, 'reported'))
  h.eq('~$0.0045', require('ami.cost').format_usd(0.0045, 'estimated'))
  h.eq('1.3k tok', require('ami.cost').format_tokens(1300))
end }

T[#T + 1] = { 'an_estimate_is_marked_and_an_unknown_price_is_never_zero', function()
  vim.env.OPENAI_API_KEY = 'sk-openai-test-0123456789'
  h.use_fake('fake/hello', {
    ledger = { path = ledger_path('estimate') },
    prices = { ['fake/hello'] = { prompt = 3, completion = 15 } },
  }, 'openai')
  local doc = h.document({ 'text' })
  critique(doc, 1)
  local c = require('ami').cost(doc)
  h.eq(true, c.estimated, 'OpenAI reports no cost: estimated from the prices')
  h.ok(math.abs(c.cost_usd - (c.prompt_tokens * 3 + c.completion_tokens * 15) / 1e6) < 1e-12, 'priced')
  h.ok(require('ami').statusline():match('^ami ~%$'), require('ami').statusline())
  h.ok(h.text(require('ami.thread').get(doc).buf):find(' · ~$0.', 1, true), 'the footer marks the estimate')
  -- Without a price: tokens shown, cost unknown.
  require('ami').setup({ provider = 'openai', model = 'fake/echo', ledger = { path = ledger_path('estimate') },
    providers = { openai = { base_url = h.fake().base('openai') } } })
  local doc2 = h.document({ 'other text' })
  critique(doc2, 1)
  local text = h.text(require('ami.thread').get(doc2).buf)
  h.ok(text:find(' · cost unknown', 1, true), text)
  h.eq(1, require('ami').cost(doc2).unknown)
  h.eq('ami cost unknown · ' .. require('ami.cost').format_tokens(
    require('ami').cost(doc2).prompt_tokens + require('ami').cost(doc2).completion_tokens),
    (function()
      api.nvim_set_current_buf(doc2)
      return require('ami').statusline()
    end)())
end }

T[#T + 1] = { 'the_monthly_cap_refuses_before_anything_is_sent', function()
  local path = ledger_path('monthly')
  h.use_fake('fake/hello', { ledger = { path = path }, budget = { monthly_usd = 0.0005 } })
  local doc = h.document({ 'text' })
  critique(doc, 1) -- $0.0007 spent: over the cap now
  h.eq(1, #h.chats())
  critique(doc, 2)
  h.eq(1, #h.chats(), 'the refused request never reached the provider')
  local t = require('ami.thread').get(doc)
  h.eq('refused', t.finished[2].status)
  local text = h.text(t.buf)
  h.contains(text, "**⚠ refused: refused: this month's spending $0.00")
  h.contains(text, 'budget.monthly_usd = $0.00050')
  h.ok(#h.notes_matching('budget.monthly_usd') >= 1, 'told with a notification')
  -- The ledger writes in the background: wait for the refused row.
  h.wait(function()
    return sql(path, "select group_concat(status, '|') from (select status from requests order by id)")
      == 'ok|refused'
  end, 5000, 'both rows in the ledger')
end }

T[#T + 1] = { 'the_per_request_cap_uses_the_price_and_max_tokens', function()
  h.use_fake('fake/priced', {
    ledger = { path = ledger_path('per_request') },
    budget = { per_request_usd = 0.001 },
    max_tokens = 4096, -- up to 4096 × $15/M = $0.06 > $0.001
  })
  local doc = h.document({ 'text' })
  critique(doc, 1)
  h.eq(0, #h.chats(), 'nothing sent')
  local text = h.text(require('ami.thread').get(doc).buf)
  h.contains(text, 'budget.per_request_usd = $0.0010')
  h.contains(text, 'up to 4096 out')
  -- Raised: it goes.
  require('ami').setup({ model = 'fake/priced', max_tokens = 50, budget = { per_request_usd = 0.01 },
    ledger = { path = ledger_path('per_request') }, providers = { openrouter = { base_url = h.fake().base() } } })
  critique(doc, 2)
  h.eq(1, #h.chats())
  h.eq('done', require('ami.thread').get(doc).finished[2].status)
end }

T[#T + 1] = { 'the_ledger_records_each_outcome_and_never_the_key', function()
  local path = ledger_path('rows')
  local key = 'sk-or-v1-very-secret-key-42'
  vim.env.OPENROUTER_API_KEY = key
  h.use_fake('fake/hello', { ledger = { path = path } })
  local doc = h.document({ 'text' }, 'rows.md')
  local function ask(model, n, stop)
    require('ami').setup({ model = model, ledger = { path = path }, providers = { openrouter = { base_url = h.fake().base() } } })
    api.nvim_set_current_buf(doc)
    vim.cmd('1Critique')
    if stop then
      h.wait(function()
        return h.text(require('ami.thread').get(doc).buf):find(stop, 1, true)
      end, 5000, 'text before stopping')
      vim.cmd('AmiStop')
    end
    h.wait(function()
      return answers_in(doc) >= n
    end, 10000, 'answer ' .. n)
  end
  ask('fake/hello', 1)
  ask('fake/http-error?status=500&times=-1', 2)
  ask('fake/drop?after=3', 3)
  ask('fake/endless?gap_ms=5', 4, '2 ')
  ask('fake/key-echo', 5)
  -- Rows are written on the thread pool: wait for the fifth.
  h.wait(function()
    return sql(path, 'select count(*) from requests') == '5'
  end, 5000, 'five rows')
  h.eq('ok|error|interrupted|cancelled|error',
    sql(path, "select group_concat(status, '|') from (select status from requests order by id)"))
  h.eq('nvim|critique|openrouter|fake/hello|fake/hello-20250101|' .. h.tmp .. '/rows.md',
    sql(path, 'select client, command, provider, model_requested, model_answered, document from requests where id = 1'))
  h.contains(sql(path, 'select error from requests where id = 2'), 'HTTP 500')
  h.eq('reported', sql(path, 'select cost_source from requests where id = 1'))
  h.contains(sql(path, 'select prompt_text from requests where id = 1'), '<document>')
  h.eq('Hello, world! Ça va ? 👋', sql(path, 'select answer_text from requests where id = 1'))
  local f = assert(io.open(path, 'rb'))
  local bytes = f:read('*a')
  f:close()
  for _, suffix in ipairs({ '', '-wal' }) do
    local g = io.open(path .. suffix, 'rb')
    if g then
      bytes = bytes .. g:read('*a')
      g:close()
    end
  end
  h.ok(not bytes:find(key, 1, true), 'the key is not in the ledger')
  h.ok(not h.text(require('ami.thread').get(doc).buf):find(key, 1, true), 'nor in the sidebar')
  h.eq('600', vim.trim(vim.fn.system({ 'stat', '-c', '%a', path })), 'the ledger is private')
end }

T[#T + 1] = { 'store_text_false_keeps_the_texts_out', function()
  local path = ledger_path('notext')
  h.use_fake('fake/hello', { ledger = { path = path, store_text = false } })
  local doc = h.document({ 'private words' })
  critique(doc, 1)
  h.wait(function()
    return sql(path, 'select count(*) from requests') == '1'
  end, 5000, 'the row')
  h.eq('|', sql(path, 'select prompt_text, answer_text from requests'))
end }

T[#T + 1] = { 'a_broken_ledger_does_not_stop_an_answer', function()
  local dir = h.tmp .. '/not-a-ledger'
  vim.fn.mkdir(dir, 'p')
  h.use_fake('fake/hello', { ledger = { path = dir } }) -- a directory: cannot be opened
  local doc = h.document({ 'text' })
  critique(doc, 1)
  h.eq('done', require('ami.thread').get(doc).finished[1].status)
  h.contains(h.text(require('ami.thread').get(doc).buf), 'Hello, world! Ça va ? 👋')
  h.wait(function()
    return #h.notes_matching('ledger') >= 1
  end, 5000, 'the user to be told')
  critique(doc, 2)
  h.eq(1, #h.notes_matching('usage ledger could not record'), 'told once')
  -- With a budget, it says the budget cannot be enforced, and goes on.
  require('ami').setup({ model = 'fake/hello', ledger = { path = dir }, budget = { monthly_usd = 1 },
    providers = { openrouter = { base_url = h.fake().base() } } })
  critique(doc, 3)
  h.eq('done', require('ami.thread').get(doc).finished[3].status)
  h.ok(#h.notes_matching('cannot') >= 1, vim.inspect(h.notes))
end }

T[#T + 1] = { 'a_reopened_file_shows_what_it_already_cost', function()
  local path = ledger_path('reopen')
  h.use_fake('fake/hello', { ledger = { path = path } })
  local doc = h.document({ 'text' }, 'reopen.md')
  critique(doc, 1)
  critique(doc, 2)
  local before = require('ami').cost(doc)
  h.wait(function()
    return sql(path, 'select count(*) from requests') == '2'
  end, 5000, 'rows')
  vim.cmd('bwipeout! ' .. doc)
  vim.cmd('edit ' .. h.tmp .. '/reopen.md')
  local again = api.nvim_get_current_buf()
  h.wait(function()
    return require('ami').cost(again).requests == 2
  end, 5000, 'the earlier totals')
  local c = require('ami').cost(again)
  h.eq(before.prompt_tokens, c.prompt_tokens)
  h.eq(before.completion_tokens, c.completion_tokens)
  h.ok(math.abs(before.cost_usd - c.cost_usd) < 1e-9, 'same cost')
  h.ok(require('ami').statusline() ~= '', 'the statusline shows it')
end }

T[#T + 1] = { 'ami_usage_reports_the_month_by_model_and_the_key_credit', function()
  local path = ledger_path('report')
  h.use_fake('fake/hello', { ledger = { path = path } })
  local doc = h.document({ 'text' })
  critique(doc, 1)
  h.wait(function()
    return sql(path, 'select count(*) from requests') == '1'
  end, 5000, 'the row')
  local buf = require('ami.usage').open()
  h.wait(function()
    return h.text(buf):find('By model', 1, true)
  end, 5000, 'the report')
  local text = h.text(buf)
  h.contains(text, '# ami usage — ' .. os.date('%Y-%m'))
  h.contains(text, 'This month: 1 request · 1 thread · ')
  h.contains(text, '| fake/hello-20250101 | 1 |')
  h.contains(text, 'OpenRouter key: $7.50 left of a $10.00 limit')
  h.contains(text, 'Ledger: ' .. path)
  h.eq(api.nvim_get_current_buf(), buf, 'the report has the focus')
end }

return T
