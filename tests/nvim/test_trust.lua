-- What leaves the machine, in Neovim: the provider told what it may keep, a free model asked
-- about first, every cent counted, and :AmiSent showing exactly what was sent.
local h = require('helpers')
local api = vim.api

local T = {}

local function stub_select(answer)
  local seen = {}
  local real = vim.ui.select
  vim.ui.select = function(items, opts, cb)
    table.insert(seen, { items = items, prompt = opts.prompt })
    cb(answer and answer(items) or nil)
  end
  return seen, function()
    vim.ui.select = real
  end
end

T[#T + 1] = { 'openrouter_is_told_not_to_collect_the_text', function()
  h.use_fake('fake/hello')
  local doc = h.document({ 'Une note.' })
  vim.cmd('1Critique')
  h.wait_answer(doc)
  h.eq({ data_collection = 'deny' }, h.chats()[1].body.provider)
end }

T[#T + 1] = { 'a_free_model_is_asked_about_once_per_session', function()
  h.use_fake('fake/hello:free', { privacy = { data_collection = 'allow' } })
  require('ami.privacy').reset()
  local doc = h.document({ 'Une note.' })
  local seen, restore = stub_select(function()
    return nil -- cancel
  end)
  vim.cmd('1Critique')
  h.eq(1, #seen, 'asked')
  h.contains(seen[1].prompt, 'fake/hello:free is a free model: its providers may keep and train on what you send')
  vim.wait(200)
  h.eq(0, #h.chats(), 'cancelled: nothing sent')
  restore()
  seen, restore = stub_select(function(items)
    return items[1]
  end)
  vim.cmd('1Critique')
  h.wait_answer(doc)
  h.eq(1, #h.chats())
  vim.cmd('1Critique')
  h.wait(function()
    return #h.chats() == 2
  end, 5000)
  restore()
  h.eq(1, #seen, 'asked once more after the cancel, then not again this session')
  h.eq(nil, h.chats()[1].body.provider, 'data collection allowed: no routing field')
end }

T[#T + 1] = { 'the_refusal_under_the_policy_names_the_setting', function()
  h.use_fake('fake/hello:free')
  local doc = h.document({ 'Une note.' })
  vim.cmd('1Critique')
  local t = h.wait_answer(doc)
  h.eq('error', t.finished[1].status)
  h.contains(h.text(t.buf), 'No endpoints found matching your data policy')
  h.contains(h.text(t.buf), ':AmiModel')
end }

T[#T + 1] = { 'an_error_beside_the_usage_shows_what_it_cost', function()
  h.use_fake('fake/midstream-error?after=3&usage=1&code=400&message=Token%20limit%20reached')
  local doc = h.document({ 'Une note.' })
  vim.cmd('1Critique')
  local t = h.wait_answer(doc)
  local r = t.finished[1].result
  h.eq('error', r.status)
  h.eq(3, r.completion_tokens)
  h.eq(false, r.tokens_estimated)
  h.eq('reported', r.cost_source)
  local text = h.text(t.buf)
  h.contains(text, 'Token limit reached')
  h.ok(text:find(' 3 out · %$0%.') ~= nil, 'the footer shows the cost:\n' .. text)
  h.ok(require('ami').cost(doc).cost_usd > 0, 'counted in the document\'s cost')
end }

T[#T + 1] = { 'ami_sent_shows_what_left_the_machine_never_the_key', function()
  h.use_fake('fake/hello')
  local doc = h.document({ 'Une note à envoyer.' }, 'sent.md')
  vim.cmd('1Critique')
  local t = h.wait_answer(doc)
  vim.cmd('AmiSent')
  local buf = vim.fn.bufnr('ami://sent')
  h.ok(buf > 0, 'the view opened')
  local text = h.text(buf)
  h.contains(text, 'POST ' .. h.fake().base() .. '/chat/completions')
  h.contains(text, 'Authorization: <redacted>')
  h.contains(text, 'Content-Type: application/json')
  h.contains(text, '"model":\t"fake/hello"')
  h.contains(text, 'Une note à envoyer.')
  h.ok(not text:find(vim.env.OPENROUTER_API_KEY, 1, true), 'the key is never shown')
  vim.cmd('close')
  -- From the thread, the answer under the cursor.
  api.nvim_set_current_win(vim.fn.bufwinid(t.buf))
  api.nvim_win_set_cursor(0, { 7, 0 })
  vim.cmd('AmiSent')
  h.contains(h.text(vim.fn.bufnr('ami://sent')), 'Une note à envoyer.')
end }

T[#T + 1] = { 'ami_sent_reads_the_ledger_once_the_engine_forgot', function()
  local path = h.tmp .. '/sent.sqlite3'
  h.use_fake('fake/hello', { ledger = { path = path } })
  local doc = h.document({ 'Une note gardée dans le registre.' }, 'sent-ledger.md')
  vim.cmd('1Critique')
  local t = h.wait_answer(doc)
  h.wait(function()
    return #require('ami.thread').running_ids(t) == 0
  end)
  local host = require('ami.host')
  host.stop() -- the new engine remembers nothing of what was sent
  h.wait(function()
    return not host.running()
  end)
  api.nvim_set_current_win(vim.fn.bufwinid(doc))
  vim.cmd('AmiSent')
  local text
  h.wait(function()
    local b = vim.fn.bufnr('ami://sent')
    text = b > 0 and h.text(b) or ''
    return text:find('registre', 1, true) ~= nil
  end, 10000, 'what was sent, from the ledger')
  h.contains(text, 'POST ' .. h.fake().base() .. '/chat/completions')
  h.contains(text, 'Authorization: <redacted>')
  h.ok(not text:find(vim.env.OPENROUTER_API_KEY, 1, true), 'the key is never shown')
  vim.cmd('close')
  -- The answer under the cursor in the thread is found by its uid.
  local b = vim.fn.bufnr('ami://sent')
  if b > 0 then
    vim.cmd('bwipeout ' .. b)
  end
  api.nvim_set_current_win(vim.fn.bufwinid(t.buf))
  api.nvim_win_set_cursor(0, { 7, 0 })
  vim.cmd('AmiSent')
  h.wait(function()
    local sb = vim.fn.bufnr('ami://sent')
    return sb > 0 and h.text(sb):find('registre', 1, true) ~= nil
  end, 10000, 'the answer under the cursor, from the ledger')
  h.contains(h.text(vim.fn.bufnr('ami://sent')), '# What left the machine · request r-')
end }

-- ---- secrets ----------------------------------------------------------------------------------

-- Fake secrets in the formats of the real ones (the rules test every kind; these are two).
local TOKEN = 'ghp_' .. ('Zq8xk2Lm9pVbR4tW7yN1cF6hJ3dS0gA5eQuI'):sub(1, 36)
local PASSWORD = 'Zq8xk2Lm9pVb'

local function secret_doc(name)
  return h.document({ 'Ma config de test :', '', 'export GITHUB_TOKEN=' .. TOKEN,
    ('password = "%s"'):format(PASSWORD), '', 'Est-ce clair ?' }, name)
end

local function all_sent()
  local out = {}
  for _, c in ipairs(h.chats()) do
    table.insert(out, vim.fn.json_encode(c.body))
  end
  return table.concat(out, '\n')
end

T[#T + 1] = { 'secrets_never_leave_and_the_writer_is_told_where', function()
  local path = h.tmp .. '/secrets.sqlite3'
  h.use_fake('fake/echo?size=100000', { ledger = { path = path } })
  local doc = secret_doc('secrets.md')
  vim.cmd('1,4Critique Et ' .. TOKEN .. ' ?')
  local t = h.wait_answer(doc)
  local sent = all_sent()
  h.ok(not sent:find(TOKEN, 1, true) and not sent:find(PASSWORD, 1, true), 'no secret was sent')
  h.contains(sent, 'export GITHUB_TOKEN=[secret: GitHub token]')
  h.contains(sent, 'password = \\"[secret: password]\\"')
  h.contains(sent, 'My question: Et [secret: GitHub token] ?', 'the same secret, the same placeholder')
  -- Diagnostics on their places, the thread and one notification.
  local d = vim.diagnostic.get(doc, { namespace = api.nvim_create_namespace('ami.secrets') })
  table.sort(d, function(a, b)
    return a.lnum < b.lnum
  end)
  h.eq(2, #d)
  h.eq(vim.diagnostic.severity.INFO, d[1].severity)
  h.eq('ami', d[1].source)
  h.eq(TOKEN, api.nvim_buf_get_text(doc, d[1].lnum, d[1].col, d[1].end_lnum, d[1].end_col, {})[1])
  h.eq(PASSWORD, api.nvim_buf_get_text(doc, d[2].lnum, d[2].col, d[2].end_lnum, d[2].end_col, {})[1])
  h.contains(d[1].message, 'GitHub token masked before sending: the model saw [secret: GitHub token]')
  local msg = '3 secrets masked before sending (line 3, GitHub token; line 4, password), and 1 in '
    .. 'the question or earlier turns'
  h.eq(1, #h.notes_matching(msg), 'told once: ' .. vim.inspect(h.notes))
  h.contains(h.text(t.buf), msg)
  -- The ledger keeps the masked text only.
  h.wait(function()
    return vim.trim(vim.fn.system({ 'sqlite3', path, 'select count(*) from requests' })) == '1'
  end, 5000)
  local stored = vim.fn.system({ 'sqlite3', path, 'select prompt_text || turn from requests' })
  h.ok(not stored:find(TOKEN, 1, true) and not stored:find(PASSWORD, 1, true), 'nothing in the ledger')
  -- A follow-up: the earlier turns are masked again, with the same placeholders.
  vim.cmd('AmiAsk Et le mot de passe ?')
  h.wait(function()
    return #h.chats() == 2
  end, 5000)
  h.wait_answer(doc)
  local second = vim.fn.json_encode(h.chats()[2].body)
  h.ok(not second:find(TOKEN, 1, true) and not second:find(PASSWORD, 1, true), 'not in the follow-up')
  h.contains(second, '[secret: GitHub token]')
end }

T[#T + 1] = { 'allowed_values_and_masking_turned_off', function()
  h.use_fake('fake/hello', { secrets = { allow = { '^Zq8xk2Lm9pVb$' } } })
  local doc = secret_doc()
  vim.cmd('1,4Critique')
  h.wait_answer(doc)
  local sent = all_sent()
  h.contains(sent, PASSWORD, 'an allowed value is sent as it is')
  h.ok(not sent:find(TOKEN, 1, true), 'the token is still masked')
  require('ami.host').stop()
  h.reset()
  h.use_fake('fake/hello', { secrets = { mask = false } })
  doc = secret_doc()
  vim.cmd('1,4Critique')
  h.wait_answer(doc)
  h.contains(all_sent(), TOKEN, 'mask = false sends everything')
  vim.cmd('checkhealth ami')
  h.contains(h.text(0), 'secrets.mask = false')
end }

return T
