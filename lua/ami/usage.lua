-- ami.usage: :AmiUsage, what ami cost this month and before, from the usage ledger, with the
-- OpenRouter key's remaining credit.
local M = {}

local api = vim.api
local cost = require('ami.cost')

local pending = {} -- token -> buffer

local function money(t)
  local s = cost.format_usd(t.cost_usd, 'reported')
  if (t.unknown_cost_requests or 0) > 0 then
    s = s .. '+?'
  end
  if (t.estimated_cost_usd or 0) > 0 then
    s = s .. (' (%s estimated)'):format(cost.format_usd(t.estimated_cost_usd, 'estimated'))
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
      cost.format_tokens(m.prompt_tokens), cost.format_tokens(m.completion_tokens), money(m),
      m.co2e_g > 0 and (' · ' .. cost.format_co2(m.co2e_g)) or ''))
    if (m.refused or 0) > 0 then
      table.insert(lines, ('Refused by the budget: %d'):format(m.refused))
    end
    local cap = require('ami.config').get().budget.monthly_usd
    if type(cap) == 'number' then
      table.insert(lines, ('Budget: %s of %s this month (%d%%)'):format(cost.format_usd(m.cost_usd, 'reported'),
        cost.format_usd(cap, 'reported'), cap > 0 and math.floor(100 * m.cost_usd / cap + 0.5) or 100))
    end
  end
  local key = ev.key
  if key then
    local parts = {}
    local function f(v)
      return v and v == v and cost.format_usd(v, 'reported') or nil
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
      table.insert(lines, row({ b.model, tostring(b.requests), cost.format_int(b.prompt_tokens),
        cost.format_int(b.completion_tokens), money(b), cost.format_co2(b.co2e_g) }))
    end
  end
  if #ev.months > 0 then
    table.insert(lines, '')
    table.insert(lines, '## By month')
    table.insert(lines, '')
    table.insert(lines, row({ 'month', 'requests', 'threads', 'tokens in', 'tokens out', 'cost', 'CO₂e (est.)' }))
    table.insert(lines, row({ '---', '---:', '---:', '---:', '---:', '---:', '---:' }))
    for _, t in ipairs(ev.months) do
      table.insert(lines, row({ t.month, tostring(t.requests), tostring(t.threads), cost.format_int(t.prompt_tokens),
        cost.format_int(t.completion_tokens), money(t), cost.format_co2(t.co2e_g) }))
    end
  end
  table.insert(lines, '')
  table.insert(lines, ('*Costs as the provider reported them; "~" marks estimates from prices; "+?" a total without requests of unknown cost. CO₂e is an order-of-magnitude estimate. Ledger: %s*')
    :format(ev.ledger or 'off'))
  return lines
end

local function on_report(ev)
  local buf = pending[ev.token]
  pending[ev.token] = nil
  if not buf or not api.nvim_buf_is_valid(buf) then
    return
  end
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, M.render(ev))
  vim.bo[buf].modifiable = false
end

local registered = false

--- :AmiUsage
function M.open()
  local host = require('ami.host')
  if not registered then
    registered = true
    host.on('usage_report', on_report)
  end
  local res, err = host.request('usage_report')
  if not res then
    vim.notify(err, vim.log.levels.ERROR)
    return
  end
  local buf = vim.fn.bufnr('ami://usage')
  if buf < 0 or not api.nvim_buf_is_valid(buf) then
    buf = api.nvim_create_buf(false, true)
    api.nvim_buf_set_name(buf, 'ami://usage')
    vim.bo[buf].buftype = 'nofile'
    vim.bo[buf].bufhidden = 'wipe'
    vim.bo[buf].filetype = 'markdown'
    vim.keymap.set('n', 'q', '<Cmd>close<CR>', { buffer = buf, nowait = true, desc = 'close the report' })
  end
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, { '# ami usage', '', 'Reading the ledger…' })
  vim.bo[buf].modifiable = false
  pending[res.token] = buf
  local win = vim.fn.bufwinid(buf)
  if win < 0 then
    vim.cmd('botright split')
    api.nvim_win_set_buf(0, buf)
  else
    api.nvim_set_current_win(win)
  end
  return buf
end

return M
