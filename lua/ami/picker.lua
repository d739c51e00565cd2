-- ami.picker: :AmiModel without an argument, a model picker through vim.ui.select (so
-- telescope, fzf-lua, snacks or dressing can take it over).  Each item shows the id, the price
-- in and out per million tokens, the context length, and "free" for free models; the models
-- the ledger shows the writer has used come first (most recent first), then the rest by name.
-- Nothing waits: the list and the ledger's answer arrive as events, then the picker opens.
local M = {}

local cost = require('ami.cost')

--- "$3 / $15", "$0.25 / $1.25", "free", "price unknown".
function M.price(m)
  local p, c = m.prompt_usd_per_mtok, m.completion_usd_per_mtok
  if p == nil or c == nil or p == vim.NIL or c == vim.NIL or p < 0 or c < 0 then
    return m.id:find(':free$') and 'free' or 'price unknown'
  end
  if (p == 0 and c == 0) or m.id:find(':free$') then
    return 'free'
  end
  local function usd(x)
    if x == math.floor(x) then
      return ('$%d'):format(x)
    end
    return ('$%s'):format((('%.3f'):format(x):gsub('0+$', ''):gsub('%.$', '')))
  end
  return ('%s / %s'):format(usd(p), usd(c))
end

--- "200k ctx", "1M ctx", "" when unknown.
function M.context(n)
  if type(n) ~= 'number' or n <= 0 then
    return ''
  end
  if n >= 1e6 then
    return ('%gM ctx'):format(math.floor(n / 1e5 + 0.5) / 10)
  end
  return ('%dk ctx'):format(math.floor(n / 1000 + 0.5))
end

--- The picker's items, in order: used models (most recent first), then the rest by id.
function M.items(models, used)
  local rank = {}
  for i, u in ipairs(used or {}) do
    rank[u.model] = { i = i, requests = u.requests }
  end
  local items = {}
  for _, m in ipairs(models) do
    table.insert(items, { id = m.id, model = m, used = rank[m.id] })
  end
  -- A model used but absent from the list (another provider's, or renamed) still shows.
  local listed = {}
  for _, m in ipairs(models) do
    listed[m.id] = true
  end
  for _, u in ipairs(used or {}) do
    if not listed[u.model] then
      table.insert(items, { id = u.model, model = { id = u.model }, used = rank[u.model], unlisted = true })
    end
  end
  table.sort(items, function(a, b)
    if a.used and b.used then
      return a.used.i < b.used.i
    end
    if a.used or b.used then
      return a.used ~= nil
    end
    return a.id < b.id
  end)
  return items
end

local function width(items)
  local w = 10
  for _, it in ipairs(items) do
    w = math.max(w, vim.fn.strdisplaywidth(it.id))
  end
  return math.min(w, 60)
end

--- One line per item: "anthropic/claude-sonnet-4   $3 / $15   200k ctx   used 12×".
function M.format(item, w)
  local id = item.id
  local pad = math.max(1, (w or 40) - vim.fn.strdisplaywidth(id) + 2)
  local parts = { M.price(item.model) }
  local ctx = M.context(item.model.context_length)
  if ctx ~= '' then
    table.insert(parts, ctx)
  end
  if item.used then
    table.insert(parts, ('used %s×'):format(cost.format_int(item.used.requests)))
  end
  if item.current then
    table.insert(parts, '(current)')
  end
  return id .. string.rep(' ', pad) .. table.concat(parts, '   ')
end

--- Switches to model id (setup's provider), for now and for the next Neovim sessions.
function M.choose(id)
  local cfg = require('ami.config')
  cfg.set('model', id)
  require('ami.state').set('model', id)
  require('ami.state').set('provider', cfg.get().provider)
  require('ami.state').set('setup_model', cfg.configured_model())
  local host = require('ami.host')
  if host.running() then
    local ok, e = host.reconfigure()
    if not ok then
      vim.notify(e, vim.log.levels.ERROR)
      return false
    end
  end
  vim.notify('ami: model ' .. id)
  return true
end

--- Opens the picker once the model list and the ledger's models have arrived.
function M.open()
  local host = require('ami.host')
  local models = require('ami.models')
  local provider = require('ami.config').get().provider
  local state = { list = nil, used = nil, done = false }
  local function ready()
    if state.done or state.list == nil or state.used == nil then
      return
    end
    state.done = true
    if state.list.error then
      vim.notify('ami: ' .. state.list.error, vim.log.levels.ERROR)
      return
    end
    local items = M.items(state.list.models or {}, state.used)
    local current = require('ami.config').get().model
    for _, it in ipairs(items) do
      it.current = it.id == current
    end
    local w = width(items)
    vim.ui.select(items, {
      prompt = ('ami: model (%s)'):format(provider),
      kind = 'ami.model',
      format_item = function(it)
        return M.format(it, w)
      end,
    }, function(choice)
      if choice then
        M.choose(choice.id)
      end
    end)
  end
  models.fetch_then(provider, function(list)
    state.list = list
    ready()
  end)
  local res, err = host.request('models_used')
  if not res then
    state.used = {}
  else
    M.waiting_used = M.waiting_used or {}
    M.waiting_used[res.token] = function(ev)
      state.used = ev.error and {} or ev.models
      ready()
    end
  end
  M.register()
  ready()
end

local registered = false
function M.register()
  if registered then
    return
  end
  registered = true
  require('ami.host').on('models_used', function(ev)
    local fn = M.waiting_used and M.waiting_used[ev.token]
    if fn then
      M.waiting_used[ev.token] = nil
      fn(ev)
    end
  end)
end

return M
