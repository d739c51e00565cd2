-- ami.models: the provider's model list, for :AmiModel completion.  The engine caches it (in
-- memory and on disk for a day); the first completion may wait briefly for it.
local M = {}

local lists = {} -- provider -> { ids, models } or { error, ids = {} }
local pending = {} -- token -> provider
local waiters = {} -- token -> { fn(list) }

local function on_models(ev)
  local provider = pending[ev.token]
  if not provider then
    return
  end
  pending[ev.token] = nil
  if ev.error then
    lists[provider] = { error = ev.error, ids = {} }
  else
    local ids = {}
    for _, m in ipairs(ev.models) do
      table.insert(ids, m.id)
    end
    table.sort(ids)
    lists[provider] = { ids = ids, models = ev.models }
  end
  for _, fn in ipairs(waiters[ev.token] or {}) do
    fn(lists[provider])
  end
  waiters[ev.token] = nil
end

local registered = false
local function register()
  if not registered then
    registered = true
    require('ami.host').on('models', on_models)
  end
end

--- Asks the engine for the list; returns the token, or nil and an error.
function M.fetch(provider, refresh)
  register()
  local res, err = require('ami.host').request('models', provider, refresh or false)
  if not res then
    return nil, err
  end
  pending[res.token] = provider
  return res.token
end

--- Calls fn(list) with the provider's list ({ models = {...} } or { error = '…' }) once it is
--- known: at once when it already is, else when the engine's event arrives.  Never waits.
function M.fetch_then(provider, fn)
  local l = lists[provider]
  if l and not l.error then
    fn(l)
    return
  end
  local token, err = M.fetch(provider)
  if not token then
    fn({ error = tostring(err):gsub('^ami: ', ''), ids = {} })
    return
  end
  waiters[token] = waiters[token] or {}
  table.insert(waiters[token], fn)
end

--- Model ids of the configured provider.  Waits up to 2 s the first time.
function M.ids()
  local provider = require('ami.config').get().provider
  local l = lists[provider]
  if l and not l.error then
    return l.ids
  end
  local token = M.fetch(provider)
  if token then
    vim.wait(2000, function()
      return pending[token] == nil
    end, 10)
  end
  l = lists[provider]
  return l and l.ids or {}
end

--- The full entry of a model ({ id, name, context_length, prompt_usd_per_mtok, ... }) if known.
function M.info(id)
  local l = lists[require('ami.config').get().provider]
  for _, m in ipairs(l and l.models or {}) do
    if m.id == id then
      return m
    end
  end
end

return M
