-- :AmiUsage with pictures: the charts and the table by source drawn by the engine, placed in the
-- report with their highlights, on a ledger that holds ami's requests and an imported export.
local h = require('helpers')
local api = vim.api

local T = {}

local function sql(path, query)
  local out = vim.fn.system({ 'sqlite3', '-separator', '|', path, query })
  h.eq(0, vim.v.shell_error, 'sqlite3: ' .. out)
  return vim.trim(out)
end

-- The UTC month of t, and the 15th at noon of the month before it.
local function months()
  local now = os.time()
  local this = os.date('!%Y-%m', now)
  local y, m = this:match('(%d+)-(%d+)')
  y, m = tonumber(y), tonumber(m) - 1
  if m == 0 then
    y, m = y - 1, 12
  end
  local prev = ('%04d-%02d'):format(y, m)
  -- 12:00 UTC on the 15th: os.time reads local time, so take the UTC offset out.
  local offset = os.time(os.date('*t', now)) - os.time(os.date('!*t', now))
  local prev_t = os.time({ year = y, month = m, day = 15, hour = 12 }) + offset
  return this, prev, now, prev_t
end

local function iso(t)
  return os.date('!%Y-%m-%dT%H:%M:%SZ', t)
end

-- A ledger made by the CLI (schema and an imported Claude export), then ami's rows.
local function ledger_with_imports(name)
  local path = h.tmp .. '/' .. name .. '.sqlite3'
  local this, prev, now, prev_t = months()
  local cfg = h.tmp .. '/' .. name .. '-config.json'
  vim.fn.writefile({ vim.fn.json_encode({ ledger = { path = path } }) }, cfg)
  local t1, t2 = now - 7200, now - 3600
  local export = {
    { uuid = 'c-1', name = 'Une question', created_at = iso(t1), updated_at = iso(t1 + 60),
      chat_messages = {
        { uuid = 'm-1', sender = 'human', created_at = iso(t1), text = 'Bonjour' },
        { uuid = 'm-2', sender = 'assistant', created_at = iso(t1 + 30), text = 'Bonjour !' },
      } },
    { uuid = 'c-2', name = 'Une autre', created_at = iso(t2), updated_at = iso(t2 + 60),
      chat_messages = {
        { uuid = 'm-3', sender = 'human', created_at = iso(t2), text = 'Et ceci ?' },
        { uuid = 'm-4', sender = 'assistant', created_at = iso(t2 + 30), text = 'Voici.' },
      } },
  }
  local file = h.tmp .. '/' .. name .. '-conversations.json'
  vim.fn.writefile({ vim.fn.json_encode(export) }, file)
  local out = vim.fn.system({ 'env', 'AMI_CONFIG=' .. cfg, 'TZ=UTC0', vim.env.AMI_BIN, 'usage',
    'import', 'claude', file })
  h.eq(0, vim.v.shell_error, 'the import: ' .. out)
  h.contains(out, '2 conversations read: 2 new')
  local cols = 'started_at, started_unix, client, command, provider, model_requested, '
    .. 'model_answered, thread, prompt_tokens, completion_tokens, cost_usd, cost_source, co2e_g, status'
  sql(path, ('INSERT INTO requests (%s) VALUES '
    .. "('x', %d, 'nvim', 'critique', 'openrouter', 'fake/priced', 'fake/priced', 't-1', 1000, 100, 1.0, 'reported', 1.0, 'ok'),"
    .. "('x', %d, 'nvim', 'critique', 'openrouter', 'fake/hello', 'fake/hello', 't-2', 500, 50, 0.5, 'reported', 0.5, 'ok')")
    :format(cols, prev_t, now - 60))
  return path, cfg, this, prev
end

local function chart_lines(text)
  local lines = {}
  for l in (text .. '\n'):gmatch('(.-)\n') do
    table.insert(lines, l)
  end
  return lines
end

T[#T + 1] = { 'ami_usage_draws_the_charts_and_the_sources', function()
  vim.env.TZ = 'UTC0' -- the engine's months, as the rows above were made
  local path, cfg, this, prev = ledger_with_imports('pictures')
  h.use_fake('fake/hello', { ledger = { path = path } })
  local buf = require('ami.usage').open()
  h.wait(function()
    return h.text(buf):find('## By month', 1, true)
  end, 5000, 'the report')
  local text = h.text(buf)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  -- The tables of before are still there, after the pictures.
  h.contains(text, '# ami usage — ' .. os.date('%Y-%m'))
  h.contains(text, '| fake/hello | 1 |')
  local spend = text:find('Spending per month, by model, every source', 1, true)
  h.ok(spend and spend < text:find('## By model', 1, true), 'the charts come first')
  -- The exact characters of the spending chart: $1.00 fills the 66 cells the bar column has
  -- at 80 columns (80 - "YYYY-MM " - " $1.00"), $0.50 half of it, in the second fill.
  h.contains(text, '█ fake/priced  ▓ fake/hello\n')
  h.contains(text, '\n' .. prev .. ' ' .. ('█'):rep(66) .. ' $1.00\n')
  h.contains(text, '\n' .. this .. ' ' .. ('▓'):rep(33) .. ' $0.50\n')
  -- Threads: ami's and Claude's, stacked.
  h.contains(text, 'Threads per month, by source\n█ ami  ▓ Claude\n')
  -- This month: 1 of ami and 2 of Claude, in 70 cells (80 - 8 - " 3").
  h.contains(text, '\n' .. this .. ' ' .. ('█'):rep(23) .. ('▓'):rep(47) .. ' 3\n')
  -- The table by source: Claude's answers, tokens and cost unknown (never zero).
  h.contains(text, '## By source, ' .. this)
  local claude
  for _, l in ipairs(lines) do
    if l:match('^%s+Claude%s') then
      claude = vim.split(vim.trim(l), '%s+')
    end
  end
  h.eq({ 'Claude', '2', '2', '?', '?', '?' }, claude)
  -- The same characters as `ami usage` prints, within 80 columns.
  local cli = vim.fn.system({ 'env', 'AMI_CONFIG=' .. cfg, 'TZ=UTC0', vim.env.AMI_BIN, 'usage' })
  h.eq(0, vim.v.shell_error, cli)
  local from = cli:find('Spending per month', 1, true)
  local to = cli:find('\nBy source', 1, true)
  local block = chart_lines(cli:sub(from, to - 1))
  local first
  for i, l in ipairs(lines) do
    if l == block[1] then
      first = i
      break
    end
  end
  h.ok(first, 'the CLI chart is in the buffer')
  h.eq(block, { unpack(lines, first, first + #block - 1) })
  for _, l in ipairs(block) do
    h.ok(api.nvim_strwidth(l) <= 80, 'fits 80 columns: ' .. l)
  end

  -- Highlights: a title, the bars of both series, values.
  local marks = api.nvim_buf_get_extmarks(buf, api.nvim_create_namespace('ami_usage'), 0, -1,
    { details = true })
  local groups = {}
  for _, m in ipairs(marks) do
    groups[m[4].hl_group] = (groups[m[4].hl_group] or 0) + 1
  end
  for _, g in ipairs({ 'AmiChartTitle', 'AmiChartBar', 'AmiChartBar2', 'AmiChartValue',
    'AmiChartLabel', 'AmiChartLegend' }) do
    h.ok((groups[g] or 0) > 0, 'highlight ' .. g .. ': ' .. vim.inspect(groups))
  end
  -- Linked to a common group, so they show without any setting.
  h.ok(vim.fn.synIDtrans(vim.fn.hlID('AmiChartBar')) == vim.fn.hlID('DiagnosticInfo'), 'linked')
end }

T[#T + 1] = { 'ami_usage_in_french_numbers', function()
  vim.env.TZ = 'UTC0'
  local path, _, this = ledger_with_imports('french')
  h.use_fake('fake/hello', { ledger = { path = path }, usage = { locale = 'fr' },
    budget = { monthly_usd = 2 } })
  local buf = require('ami.usage').open()
  h.wait(function()
    return h.text(buf):find('## By month', 1, true)
  end, 5000, 'the report')
  local text = h.text(buf)
  h.contains(text, 'Dépenses par mois')
  h.contains(text, ('▓'):rep(33) .. ' 0,50\194\160$\n')
  -- The gauge: $0.50 of $2.00, 25 %.
  h.contains(text, 'Budget de ce mois (' .. this .. ', ami)')
  h.contains(text, '] 25\226\128\175% de 2,00\194\160$')
  -- The tables below the charts write their numbers the same way.
  local tables = text:sub((text:find('## By model', 1, true)))
  h.contains(tables, '0,50\194\160$')
  h.ok(not tables:find('%$%d'), 'no English money in the tables: ' .. tables)
  h.ok(not tables:find('%d%.%d'), 'no decimal point in the tables: ' .. tables)
end }

T[#T + 1] = { 'ami_usage_says_why_without_a_ledger', function()
  h.use_fake('fake/hello', { ledger = { enabled = false } })
  local buf = require('ami.usage').open()
  h.wait(function()
    return h.text(buf):find('Charts:', 1, true)
  end, 5000, 'the report')
  h.contains(h.text(buf), 'Charts: the ledger is turned off (ledger.enabled = false)')
end }

return T
