-- ami.notes_index: which files have margin notes, without starting the engine.
--
-- The engine keeps PATH.notes beside the ledger (PATH = the ledger's file): the absolute paths
-- of the documents that have notes not dismissed, one per line (doc/LEDGER.md).  Reading it
-- when a file is opened is how the notes come back days later at the cost of a stat(), and
-- the engine starts only for a file that has some.
local M = {}

local cache = { key = nil, paths = {} }

--- The index file's path, from ledger.path or the default ledger location.
function M.path()
  local c = require('ami.config').get()
  local path = c.ledger and c.ledger.path
  if type(path) == 'string' then
    path = vim.fn.expand(path)
  else
    local state = vim.env.XDG_STATE_HOME
    if not state or state == '' then
      state = (vim.env.HOME or '.') .. '/.local/state'
    end
    path = state .. '/ami/ledger.sqlite3'
  end
  return path .. '.notes'
end

--- True when the index lists path (an absolute file name).  Re-read only when it changed.
function M.has(path)
  local file = M.path()
  local st = (vim.uv or vim.loop).fs_stat(file)
  if not st then
    return false
  end
  local key = ('%s:%d.%d:%d'):format(file, st.mtime.sec, st.mtime.nsec, st.size)
  if key ~= cache.key then
    cache = { key = key, paths = {} }
    local f = io.open(file)
    if f then
      for line in f:lines() do
        cache.paths[line] = true
      end
      f:close()
    end
  end
  return cache.paths[path] == true
end

return M
