-- ami.usage: :AmiUsage, what ami cost this month and before, from the usage ledger, with the
-- OpenRouter key's remaining credit, and the pictures of the last twelve months (spending,
-- threads, tokens, the budget) with each imported source.  The engine draws the pictures
-- (usage_overview: lines and highlight spans, the same text as `ami usage`); this module only
-- places them.
local M = {}

local api = vim.api
local compat = require('ami.compat')
local cost = require('ami.cost')

local pending = {} -- token -> { buf, kind = 'report' | 'overview' }
local shown = {} -- buffer -> { report = ev, overview = ev }
local ns = api.nvim_create_namespace('ami_usage')

-- The chart groups (see chart.h) linked to common ones, unless the colorscheme sets them.
local links = {
  AmiChartTitle = 'Title', AmiChartLabel = 'Identifier', AmiChartValue = 'Number',
  AmiChartLegend = 'Normal', AmiChartBar = 'DiagnosticInfo', AmiChartBar2 = 'DiagnosticWarn',
  AmiChartBar3 = 'DiagnosticHint', AmiChartBar4 = 'String', AmiChartBar5 = 'Constant',
  AmiChartBar6 = 'Special', AmiChartBar7 = 'Type', AmiChartBar8 = 'PreProc',
  AmiChartGauge = 'String', AmiChartGaugeOver = 'DiagnosticError',
}

local function define_highlights()
  for group, to in pairs(links) do
    vim.cmd(('highlight default link %s %s'):format(group, to))
  end
end

-- Numbers as usage.locale writes them ('fr': 1 234 567 with narrow no-break spaces, decimal
-- commas, 0,50 $), the same as the engine's charts above the tables.
local NNBSP, NBSP = '\226\128\175', '\194\160'
local fmt = {}

local function french()
  return require('ami.config').get().usage.locale == 'fr'
end

function fmt.int(n)
  local s = cost.format_int(n)
  return french() and (s:gsub(',', NNBSP)) or s
end

function fmt.usd(v, source)
  local s = cost.format_usd(v, source)
  local tilde, num = s:match('^(~?)%$([%d%.,]+)$')
  if not french() or not num then
    return s
  end
  return tilde .. num:gsub(',', NNBSP):gsub('%.', ',') .. NBSP .. '$'
end

-- Tokens (1.3k tok) and carbon (~0.9 gCO₂e): a decimal comma.
function fmt.decimal(s)
  return french() and (s:gsub('(%d)%.(%d)', '%1,%2')) or s
end

local function money(t)
  local s = fmt.usd(t.cost_usd, 'reported')
  if (t.unknown_cost_requests or 0) > 0 then
    s = s .. '+?'
  end
  if (t.estimated_cost_usd or 0) > 0 then
    s = s .. (' (%s estimated)'):format(fmt.usd(t.estimated_cost_usd, 'estimated'))
  end
  return s
end

local function row(cells)
  return '| ' .. table.concat(cells, ' | ') .. ' |'
end

--- The report's lines for a usage_report event.
function M.render(ev)
  local lines = {}
  local m = ev.month
  local title = m and m.month or os.date('%Y-%m')
  table.insert(lines, '# ami usage — ' .. title)
  table.insert(lines, '')
  if ev.error then
    table.insert(lines, '**⚠ ' .. ev.error .. '**')
    table.insert(lines, '')
  end
  if m then
    table.insert(lines, ('This month: %d request%s · %d thread%s · %s in · %s out · %s%s'):format(
      m.requests, m.requests == 1 and '' or 's', m.threads, m.threads == 1 and '' or 's',
      fmt.decimal(cost.format_tokens(m.prompt_tokens)), fmt.decimal(cost.format_tokens(m.completion_tokens)),
      money(m), m.co2e_g > 0 and (' · ' .. fmt.decimal(cost.format_co2(m.co2e_g))) or ''))
    if (m.refused or 0) > 0 then
      table.insert(lines, ('Refused by the budget: %d'):format(m.refused))
    end
    local cap = require('ami.config').get().budget.monthly_usd
    if type(cap) == 'number' then
      table.insert(lines, ('Budget: %s of %s this month (%d%%)'):format(fmt.usd(m.cost_usd, 'reported'),
        fmt.usd(cap, 'reported'), cap > 0 and math.floor(100 * m.cost_usd / cap + 0.5) or 100))
    end
  end
  local key = ev.key
  if key then
    local parts = {}
    local function f(v)
      return v and v == v and fmt.usd(v, 'reported') or nil
    end
    if f(key.limit_remaining) and f(key.limit) then
      table.insert(parts, ('%s left of a %s limit'):format(f(key.limit_remaining), f(key.limit)))
    elseif f(key.limit_remaining) then
      table.insert(parts, f(key.limit_remaining) .. ' left')
    else
      table.insert(parts, 'no credit limit on this key')
    end
    if f(key.usage_monthly) then
      table.insert(parts, 'OpenRouter counts ' .. f(key.usage_monthly) .. ' this month')
    end
    table.insert(lines, 'OpenRouter key: ' .. table.concat(parts, ' · '))
  elseif ev.key_error then
    table.insert(lines, 'OpenRouter key: ' .. ev.key_error)
  end
  if m and #m.by_model > 0 then
    table.insert(lines, '')
    table.insert(lines, '## By model, ' .. m.month)
    table.insert(lines, '')
    table.insert(lines, row({ 'model', 'requests', 'tokens in', 'tokens out', 'cost', 'CO₂e (est.)' }))
    table.insert(lines, row({ '---', '---:', '---:', '---:', '---:', '---:' }))
    for _, b in ipairs(m.by_model) do
      table.insert(lines, row({ b.model, tostring(b.requests), fmt.int(b.prompt_tokens),
        fmt.int(b.completion_tokens), money(b), fmt.decimal(cost.format_co2(b.co2e_g)) }))
    end
  end
  if #ev.months > 0 then
    table.insert(lines, '')
    table.insert(lines, '## By month')
    table.insert(lines, '')
    table.insert(lines, row({ 'month', 'requests', 'threads', 'tokens in', 'tokens out', 'cost', 'CO₂e (est.)' }))
    table.insert(lines, row({ '---', '---:', '---:', '---:', '---:', '---:', '---:' }))
    for _, t in ipairs(ev.months) do
      table.insert(lines, row({ t.month, tostring(t.requests), tostring(t.threads), fmt.int(t.prompt_tokens),
        fmt.int(t.completion_tokens), money(t), fmt.decimal(cost.format_co2(t.co2e_g)) }))
    end
  end
  table.insert(lines, '')
  table.insert(lines, ('*Costs as the provider reported them; "~" marks estimates from prices; "+?" a total without requests of unknown cost. CO₂e is an order-of-magnitude estimate. Ledger: %s*')
    :format(ev.ledger or 'off'))
  return lines
end

-- Appends a block of the engine's text (lines and spans) to lines and hls.
local function add_block(lines, hls, block)
  local first = #lines
  for _, l in ipairs(block.lines or {}) do
    table.insert(lines, l)
  end
  for _, sp in ipairs(block.spans or {}) do
    table.insert(hls, { first + sp[1], sp[2], sp[3], sp[4] })
  end
end

--- The whole buffer for a usage_report event and a usage_overview event (either may be nil):
--- returns lines and highlights { line (0-based), col, end_col, group }.
function M.render_all(report, overview)
  local lines = report and M.render(report) or { '# ami usage', '', 'Reading the ledger…' }
  local hls = {}
  if not overview then
    return lines, hls
  end
  -- The pictures go after the summary lines, before the first table.
  local at = #lines + 1
  for i, l in ipairs(lines) do
    if l:match('^## ') then
      at = i
      break
    end
  end
  local head, tail = {}, {}
  for i, l in ipairs(lines) do
    table.insert(i < at and head or tail, l)
  end
  if head[#head] ~= '' then
    table.insert(head, '')
  end
  if overview.error then
    table.insert(head, 'Charts: ' .. overview.error)
  else
    add_block(head, hls, overview.charts)
    if overview.sources then
      table.insert(head, '')
      table.insert(head, '## By source, ' .. overview.month)
      table.insert(head, '')
      add_block(head, hls, overview.sources)
    end
  end
  if #tail > 0 then
    table.insert(head, '')
  end
  for _, l in ipairs(tail) do
    table.insert(head, l)
  end
  return head, hls
end

local function redraw(buf)
  local st = shown[buf]
  if not st or not api.nvim_buf_is_valid(buf) then
    return
  end
  local lines, hls = M.render_all(st.report, st.overview)
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  for _, h in ipairs(hls) do
    compat.highlight(buf, ns, h[4], h[1], h[2], h[3])
  end
end

local function on_event(ev)
  local p = pending[ev.token]
  pending[ev.token] = nil
  if not p or not api.nvim_buf_is_valid(p.buf) then
    return
  end
  shown[p.buf] = shown[p.buf] or {}
  shown[p.buf][p.kind] = ev
  -- Both parts first, so the text does not jump under the reader's eyes.
  if shown[p.buf].report and shown[p.buf].overview then
    redraw(p.buf)
  end
end

local registered = false

--- :AmiUsage
function M.open()
  local host = require('ami.host')
  if not registered then
    registered = true
    host.on('usage_report', on_event)
    host.on('usage_overview', on_event)
  end
  define_highlights()
  local res, err = host.request('usage_report')
  if not res then
    vim.notify(err, vim.log.levels.ERROR)
    return
  end
  local view = require('ami.view')
  local buf, created = view.buffer('ami://usage', 'markdown', 'close the report')
  if created then
    api.nvim_create_autocmd('BufWipeout', { buffer = buf, once = true, callback = function()
      shown[buf] = nil
    end })
  end
  shown[buf] = {}
  view.set_lines(buf, { '# ami usage', '', 'Reading the ledger…' })
  pending[res.token] = { buf = buf, kind = 'report' }
  local win = view.show(buf)
  -- The charts fill the window's width (at most 100 columns), nothing beside them.
  for opt, v in pairs({ number = false, relativenumber = false, signcolumn = 'no', foldcolumn = '0',
    wrap = false, list = false }) do
    compat.set_win(win, opt, v)
  end
  local width = math.max(40, math.min(100, api.nvim_win_get_width(win)))
  local res2, err2 = host.request('usage_overview', { width = width })
  if res2 then
    pending[res2.token] = { buf = buf, kind = 'overview' }
  else
    shown[buf].overview = { error = err2 }
  end
  return buf
end

return M
