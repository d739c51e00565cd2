-- ami.secrets: telling the writer what the engine masked before sending.
--
-- The engine (never Lua) finds the secrets in every text that leaves the machine and replaces
-- each by a placeholder ("[secret: GitHub token]").  For each answer it reports what it masked
-- in the document: here each one gets a diagnostic on its place (severity INFO, source "ami",
-- namespace "ami.secrets"), so the writer can fix the note, and the thread and one
-- notification say how many and on which lines.
local M = {}

local api = vim.api

M.ns = api.nvim_create_namespace('ami.secrets')

--- The sentence for an answer's 'secrets' event.
function M.summary(ev)
  local found = ev.found or {}
  local n = #found + (ev.elsewhere or 0)
  local parts = {}
  for _, s in ipairs(found) do
    table.insert(parts, ('line %d, %s'):format(s.range[1] + 1, s.rule))
  end
  local where = #parts > 0 and (' (' .. table.concat(parts, '; ') .. ')') or ''
  local more = ''
  if (ev.elsewhere or 0) > 0 then
    more = #parts > 0 and (', and %d in the question or earlier turns'):format(ev.elsewhere)
      or ' (in the question or earlier turns)'
  end
  return ('%d secret%s masked before sending%s%s; the model saw placeholders such as %s'):format(
    n, n == 1 and '' or 's', where, more, found[1] and found[1].placeholder or '[secret: …]')
end

--- Reports an answer's 'secrets' event for document buffer doc: diagnostics on the places,
--- one notification.  Returns the summary sentence (for the thread).
function M.report(doc, ev)
  local list = {}
  for _, s in ipairs(ev.found or {}) do
    table.insert(list, {
      lnum = s.range[1], col = s.range[2], end_lnum = s.range[3], end_col = s.range[4],
      severity = vim.diagnostic.severity.INFO,
      source = 'ami',
      message = ('%s masked before sending: the model saw %s'):format(s.rule, s.placeholder),
    })
  end
  if api.nvim_buf_is_valid(doc) then
    vim.diagnostic.set(M.ns, doc, list)
  end
  local text = M.summary(ev)
  vim.notify('ami: ' .. text, vim.log.levels.INFO)
  return text
end

return M
