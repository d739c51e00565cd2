-- ami: a writing assistant for Neovim that acts as an expert friend, never a ghostwriter.
--
-- This module is the public Lua API.  Loading it is cheap: the engine process starts on the
-- first command that needs it.
local M = {}

--- Configures ami.  opts follows the schema in `:help ami-config`.  Returns true, or false
--- after telling the user which field is wrong.
function M.setup(opts)
  local ok, err = require('ami.config').setup(opts)
  if not ok then
    vim.notify('ami: ' .. err, vim.log.levels.ERROR)
    return false
  end
  if package.loaded['ami.notes'] then
    require('ami.notes').configure()
  end
  local host = require('ami.host')
  if host.running() then
    local res, rerr = host.reconfigure()
    if not res then
      vim.notify(rerr, vim.log.levels.ERROR)
      return false
    end
  end
  return true
end

--- What the answers asked from a buffer cost: { requests, prompt_tokens, completion_tokens,
--- cost_usd, estimated }.  bufnr 0 (or nil): the current buffer; a thread buffer: its document.
function M.cost(bufnr)
  return require('ami.cost').get(bufnr)
end

--- A short text for the statusline, e.g. "ami $0.0045 · 1.3k tok"; "" when nothing was spent.
--- Cheap enough for every redraw: no call to the engine.
function M.statusline()
  return require('ami.cost').statusline()
end

--- The document's margin notes: a list of { id, kind, quote, comment, state, range, model,
--- answered_at }; range = { start_row, start_col, end_row, end_col } (0-based, byte columns,
--- end exclusive) or nil; state: anchored, approximate, stale, unanchored or dismissed.
--- bufnr 0 (or nil): the current buffer; a thread buffer: its document.
function M.notes(bufnr)
  return require('ami.notes').list(bufnr)
end

return M
