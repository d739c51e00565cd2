-- ami.state: what ami remembers between Neovim sessions that is not configuration: the model
-- chosen with :AmiModel.  A small JSON file, $XDG_STATE_HOME/ami/state.json (mode 0600), read
-- once and written when it changes; never the config, which stays the user's.
--
-- The remembered model wins over setup()'s only while setup()'s model is the one it was
-- chosen against: editing the config to another model means the config wins again.
local M = {}

local cache

--- The state file's path.
function M.path()
  local state = vim.env.XDG_STATE_HOME
  if not state or state == '' then
    state = (vim.env.HOME or '.') .. '/.local/state'
  end
  return state .. '/ami/state.json'
end

--- The remembered values ({} when none, or when the file cannot be read).
function M.read()
  if cache then
    return cache
  end
  cache = {}
  local f = io.open(M.path())
  if f then
    local ok, v = pcall(vim.fn.json_decode, f:read('*a'))
    f:close()
    if ok and type(v) == 'table' then
      cache = v
    end
  end
  return cache
end

--- Remembers key = value (nil forgets it).  Returns true, or false and why.
function M.set(key, value)
  local s = M.read()
  s[key] = value
  local path = M.path()
  vim.fn.mkdir(vim.fn.fnamemodify(path, ':h'), 'p', 448) -- 0700
  local tmp = path .. '.tmp'
  local f, err = io.open(tmp, 'w')
  if not f then
    return false, err
  end
  f:write(vim.fn.json_encode(s))
  f:close()
  local uv = vim.uv or vim.loop
  uv.fs_chmod(tmp, 384) -- 0600
  local ok, rerr = os.rename(tmp, path)
  if not ok then
    return false, rerr
  end
  return true
end

--- Forgets what was read (tests).
function M.reset()
  cache = nil
end

return M
