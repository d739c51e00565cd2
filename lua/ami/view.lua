-- ami.view: the read-only scratch buffers ami opens to show something (ami://sent,
-- ami://arena, ami://usage): one buffer per name, wiped when hidden, `q` closes its window.
local api = vim.api
local compat = require('ami.compat')

local M = {}

--- The buffer named name (ami://…), created the first time with filetype ft (or none) and a
--- `q` mapping described by desc.  Returns the buffer and whether it was just created.
function M.buffer(name, ft, desc)
  local buf = vim.fn.bufnr(name)
  if buf >= 0 and api.nvim_buf_is_valid(buf) then
    return buf, false
  end
  buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_name(buf, name)
  compat.set_buf(buf, 'buftype', 'nofile')
  compat.set_buf(buf, 'bufhidden', 'wipe')
  if ft then
    compat.set_buf(buf, 'filetype', ft)
  end
  vim.keymap.set('n', 'q', '<Cmd>close<CR>', { buffer = buf, nowait = true, desc = desc or 'close' })
  return buf, true
end

--- Replaces buf's lines; it stays read-only for the writer.
function M.set_lines(buf, lines)
  compat.set_buf(buf, 'modifiable', true)
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  compat.set_buf(buf, 'modifiable', false)
end

--- Shows buf and moves there: its window if it has one, else a new split at the bottom.
--- Returns the window.
function M.show(buf)
  local win = vim.fn.bufwinid(buf)
  if win < 0 then
    vim.cmd('botright split')
    api.nvim_win_set_buf(0, buf)
    return api.nvim_get_current_win()
  end
  api.nvim_set_current_win(win)
  return win
end

return M
