-- ami.compat: one place for the API calls whose best form depends on the Neovim version.
--
-- ami supports Neovim 0.7 through 0.12 and uses nothing 0.12 deprecates: where a newer,
-- non-deprecated call exists it is used, feature-tested once here, and the 0.7 form is the
-- fallback (tests run on 0.7.2, 0.10 and 0.12, so both paths are exercised).
local M = {}

local api = vim.api

M.uv = vim.uv or vim.loop

-- nvim_set_option_value takes {buf = …} and {win = …} from 0.8 on; 0.7 only knows the
-- nvim_buf_/nvim_win_set_option calls that 0.10 deprecates.
local scoped = vim.fn.has('nvim-0.8') == 1

--- Sets a buffer-local option of buf.
function M.set_buf(buf, name, value)
  if scoped then
    api.nvim_set_option_value(name, value, { buf = buf })
  else
    api.nvim_buf_set_option(buf, name, value)
  end
end

--- A window-local option of win.
function M.get_win(win, name)
  if scoped then
    return api.nvim_get_option_value(name, { win = win })
  end
  return api.nvim_win_get_option(win, name)
end

--- Sets a window-local option of win (like :setlocal in that window).
function M.set_win(win, name, value)
  if scoped then
    api.nvim_set_option_value(name, value, { win = win, scope = 'local' })
  else
    api.nvim_win_set_option(win, name, value)
  end
end

--- Highlights bytes [col, end_col) of row (0-based) with group, in namespace ns: an extmark,
--- the form every version has (nvim_buf_add_highlight is deprecated from 0.11 on).
function M.highlight(buf, ns, group, row, col, end_col)
  api.nvim_buf_set_extmark(buf, ns, row, col, { end_row = row, end_col = end_col, hl_group = group })
end

-- vim.tbl_islist is deprecated from 0.10 on, where vim.islist replaces it.
M.islist = vim.islist or vim.tbl_islist

return M
