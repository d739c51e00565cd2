-- ami.sidebar: the thread buffers (ami://...) and the side window that shows them.
--
-- Rules: opening the sidebar or streaming into it never takes the focus, never moves the
-- cursor of another window and never changes the mode.  A window on a thread follows the end
-- of the text only while its own cursor is on the last line.  Thread buffers keep no undo
-- history (undolevels=-1), so a long answer costs memory once.
--
-- Each answer occupies a region:
--   header lines
--   (blank)
--   body             <- `tail` extmark: where the next piece of text goes
--   (blank)          <- separator: whatever is added later goes below it, never into the body
--
-- Streaming costs Neovim little: text is only ever added at a region's tail (no line is
-- rewritten, nothing is re-split), windows move only when lines were added, and the
-- buffer's Markdown is highlighted by ami.highlight, once per line when the line is
-- complete, instead of by the regex syntax or tree-sitter (which re-read far more than the
-- new line on every frame).  The filetype stays "markdown".
local M = {}

local api = vim.api
local ns = api.nvim_create_namespace('ami.sidebar')
M.ns = ns

local has_open_win_split = vim.fn.has('nvim-0.10') == 1

local compat = require('ami.compat')
local hl = require('ami.highlight')
local set_opt = compat.set_buf

-- Buffers highlighted by this module (sidebar.highlight = 'ami', the default).  With
-- 'markdown', Neovim's own highlighting of the filetype stays (for plugins that render
-- Markdown), at its cost.
local own_hl = {}

-- Neovim 0.12's markdown ftplugin starts tree-sitter on every markdown buffer, and so do
-- nvim-treesitter's highlight module and many configurations: it re-parses the thread, with
-- an injected markdown_inline tree per paragraph, on every frame, which costs several times
-- more than everything else together (doc/BENCHMARKS.md).  The regex syntax costs more still.
local function own_highlighting(buf)
  local ts = vim.treesitter
  if ts and ts.highlighter and ts.highlighter.active and ts.highlighter.active[buf] then
    pcall(ts.stop, buf)
  end
  if vim.bo[buf].syntax ~= 'OFF' then
    set_opt(buf, 'syntax', 'OFF')
  end
end

--- The thread buffer for a document, created when needed.
function M.buffer(name)
  local uri = 'ami://' .. name
  local existing = vim.fn.bufnr('^' .. vim.fn.escape(uri, '\\/.*$^~[]') .. '$')
  if existing > 0 and api.nvim_buf_is_valid(existing) then
    return existing
  end
  local buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_name(buf, uri)
  set_opt(buf, 'buftype', 'nofile')
  set_opt(buf, 'bufhidden', 'hide')
  set_opt(buf, 'swapfile', false)
  set_opt(buf, 'undolevels', -1)
  local own = require('ami.config').get().sidebar.highlight ~= 'markdown'
  own_hl[buf] = own or nil
  set_opt(buf, 'filetype', 'markdown')
  if own then
    own_highlighting(buf)
    hl.attach(buf)
    -- A plugin that starts tree-sitter on every markdown buffer (nvim-treesitter's highlight
    -- module, a FileType autocommand) would start it again: stopped again after it.
    api.nvim_create_autocmd('FileType', { buffer = buf, callback = function()
      vim.schedule(function()
        if api.nvim_buf_is_valid(buf) then
          own_highlighting(buf)
        end
      end)
    end })
  end
  set_opt(buf, 'modifiable', false)
  return buf
end

-- A line still being written is highlighted again with each piece while it is short.
local PEEK_MAX = 3000

local function size(cfg, total)
  if cfg <= 1 then
    return math.max(10, math.floor(total * cfg))
  end
  return math.floor(cfg)
end

local function window_options(win)
  local wo = require('ami.config').get().sidebar
  compat.set_win(win, 'wrap', wo.wrap)
  compat.set_win(win, 'linebreak', true)
  compat.set_win(win, 'number', false)
  compat.set_win(win, 'relativenumber', false)
  compat.set_win(win, 'signcolumn', 'no')
  compat.set_win(win, 'foldcolumn', '0')
  compat.set_win(win, 'spell', false)
  compat.set_win(win, 'list', false)
  local pos = wo.position
  if pos == 'left' or pos == 'right' then
    compat.set_win(win, 'winfixwidth', true)
  else
    compat.set_win(win, 'winfixheight', true)
  end
end

--- A window of the current tab page showing an ami thread buffer, preferring buf's.
local function find_window(buf)
  local any
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    local b = api.nvim_win_get_buf(win)
    if b == buf then
      return win
    end
    if not any and api.nvim_buf_get_name(b):sub(1, 6) == 'ami://' then
      any = win
    end
  end
  return any
end

--- Shows buf in the sidebar window of the current tab page, opening it if needed, without
--- leaving the current window.  Returns the window.
function M.show(buf)
  local win = find_window(buf)
  if win then
    if api.nvim_win_get_buf(win) ~= buf then
      api.nvim_win_set_buf(win, buf)
    end
    return win
  end
  local wo = require('ami.config').get().sidebar
  local pos = wo.position
  local vertical = pos == 'left' or pos == 'right'
  local width = size(wo.width, vim.o.columns)
  local height = size(wo.height, vim.o.lines)
  if has_open_win_split then
    win = api.nvim_open_win(buf, false, {
      split = pos == 'top' and 'above' or pos == 'bottom' and 'below' or pos,
      win = -1,
      width = vertical and width or nil,
      height = (not vertical) and height or nil,
    })
  else
    -- Neovim 0.7-0.9: split inside nvim_win_call, which puts the focus back afterwards.
    local cur = api.nvim_get_current_win()
    local mods = ({ right = 'botright vertical', left = 'topleft vertical', top = 'topleft', bottom = 'botright' })[pos]
    api.nvim_win_call(cur, function()
      vim.cmd(('noautocmd %s %dsplit'):format(mods, vertical and width or height))
      win = api.nvim_get_current_win()
      api.nvim_win_set_buf(win, buf)
    end)
    if api.nvim_get_current_win() ~= cur and api.nvim_win_is_valid(cur) then
      api.nvim_set_current_win(cur)
    end
  end
  window_options(win)
  -- A new sidebar starts at the end, so it follows the text (see followers()).
  api.nvim_win_set_cursor(win, { api.nvim_buf_line_count(buf), 0 })
  return win
end

--- Runs fn with buf writable.
local function edit(buf, fn)
  set_opt(buf, 'modifiable', true)
  local ok, err = pcall(fn)
  set_opt(buf, 'modifiable', false)
  if not ok then
    error(err)
  end
end

-- Windows on buf whose cursor is on its last line: they follow the end.
local function followers(buf)
  local last = api.nvim_buf_line_count(buf)
  local res = {}
  -- (nvim_list_wins and nvim_win_get_buf cost a third of vim.fn.win_findbuf.)
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(win) == buf and api.nvim_win_get_cursor(win)[1] >= last then
      res[#res + 1] = win
    end
  end
  return res
end

-- long_row, long_len: a line longer than LONG_LINE (0-based row, bytes) ended in this insert.
local function follow(buf, wins, long_row, long_len)
  if #wins == 0 then
    return
  end
  local last = api.nvim_buf_line_count(buf)
  for _, win in ipairs(wins) do
    if api.nvim_win_is_valid(win) then
      if long_row and long_len / 4 > api.nvim_win_get_width(win) * api.nvim_win_get_height(win) then
        -- The line cannot fit in the window (even at 4 bytes a cell), so following the end puts
        -- the view right after it.  Said directly, Neovim does not measure the line to find
        -- that out (nvim_win_set_cursor did: 1.0 ms for 78 KB on 0.7, 0.35 on 0.12).
        api.nvim_win_call(win, function()
          vim.fn.winrestview({ topline = long_row + 2, lnum = last, col = 0 })
        end)
      else
        api.nvim_win_set_cursor(win, { last, 0 })
      end
    end
  end
end

--- Appends whole lines at the end of buf; returns the 0-based row of the first one.
function M.append_lines(buf, lines)
  local wins = followers(buf)
  local first
  edit(buf, function()
    local count = api.nvim_buf_line_count(buf)
    local empty = count == 1 and api.nvim_buf_get_lines(buf, 0, 1, false)[1] == ''
    if empty then
      api.nvim_buf_set_lines(buf, 0, 1, false, lines)
      first = 0
    else
      api.nvim_buf_set_lines(buf, -1, -1, false, lines)
      first = count
    end
  end)
  if own_hl[buf] then
    local st = {}
    for i, line in ipairs(lines) do
      hl.line(buf, first + i - 1, line, st)
    end
  end
  follow(buf, wins)
  return first
end

--- Opens an answer region: header lines, a blank, the (empty) body and a separator.
--- Returns { buf, head, tail } where head/tail are extmark ids.
function M.open_region(buf, header)
  local lines = vim.list_extend({}, header)
  table.insert(lines, '')
  table.insert(lines, '') -- the body
  table.insert(lines, '') -- the separator
  local first = M.append_lines(buf, lines)
  local body = first + #header + 1
  local head = api.nvim_buf_set_extmark(buf, ns, first, 0, {})
  local start = api.nvim_buf_set_extmark(buf, ns, body, 0, { right_gravity = false })
  local tail = api.nvim_buf_set_extmark(buf, ns, body, 0, { right_gravity = true })
  return { buf = buf, head = head, start = start, tail = tail, hl = {} }
end

-- text cut at each newline (vim.split's result, without its closures and pattern machinery:
-- this runs once per frame of every answer).
local function split_lines(text)
  local out, i = {}, 1
  while true do
    local j = text:find('\n', i, true)
    if not j then
      out[#out + 1] = text:sub(i)
      return out
    end
    out[#out + 1] = text:sub(i, j - 1)
    i = j + 1
  end
end

-- A line of tens of KiB without a break (a flood: base64, minified JSON) fills the windows that
-- follow it, and Neovim measures the whole line again on each redraw, more slowly with
-- 'linebreak' on (a redraw after a piece of a 78 KB line: 2.5 ms with it, 0.7 without on 0.12,
-- where widths have a fast path; 1.7 and 1.4 ms on 0.7: doc/BENCHMARKS.md).  So while the line
-- being written is longer than LONG_LINE bytes, more than any window shows, the windows on it
-- wrap it at any character instead of at word boundaries (nothing else is in view), from the
-- piece that makes it that long, before that piece goes in (see M.insert); 'linebreak'
-- comes back with the line's end, in a turn of its own (WRAP_BACK_MS later): the turn that ends
-- the line follows the end (see follow: without measuring the line) and redraws, the next one
-- measures the line once more with 'linebreak' (on 0.12: 0.25 + 1.0 ms instead of 2.1 + 1.0 in
-- one turn).
local LONG_LINE = 16384
local WRAP_BACK_MS = 1

local function plain_wrap(region, buf)
  local wins = {}
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(win) == buf and compat.get_win(win, 'linebreak') then
      compat.set_win(win, 'linebreak', false)
      wins[#wins + 1] = win
    end
  end
  region.nolbr = wins
end

local function word_wrap(region)
  local wins = region.nolbr
  region.nolbr = nil
  vim.defer_fn(function()
    if region.nolbr then
      -- Another long line began meanwhile: its end gives these windows back too.
      vim.list_extend(region.nolbr, wins)
      return
    end
    for _, win in ipairs(wins) do
      if api.nvim_win_is_valid(win) and api.nvim_win_get_buf(win) == region.buf then
        compat.set_win(win, 'linebreak', true)
      end
    end
  end, WRAP_BACK_MS)
end

--- Inserts text (may hold newlines) at the end of a region's body.
--- ends_body: text starts by ending the answer's last line (its first newline) and the rest
--- is ami's (status, footer): a code block the answer left open does not take it in.
function M.insert(region, text, ends_body)
  local buf = region.buf
  if not api.nvim_buf_is_valid(buf) then
    return
  end
  -- Where the tail is, and the text of its line (up to PEEK_MAX bytes): known from the last
  -- piece while nobody else changed the buffer, else read from its extmark.
  local row, col, partial
  local cached = region.at
  if cached and cached[3] == api.nvim_buf_get_changedtick(buf) then
    row, col, partial = cached[1], cached[2], cached[4]
  else
    local pos = api.nvim_buf_get_extmark_by_id(buf, ns, region.tail, {})
    row, col = pos[1], pos[2]
    if not row then
      return
    end
  end
  local lines = split_lines(text)
  local n = #lines
  -- Windows follow the end only when lines are added: within the last line, a cursor on it
  -- stays on it.
  local wins = n > 1 and followers(buf) or nil
  local last = row + n - 1
  local len = (n > 1 and 0 or col) + #lines[n]
  -- wrap_back: the long line being written ends in this piece; long: the line being written
  -- after it is long.  A line's windows lose 'linebreak' before the piece that makes it long
  -- goes in: nvim_buf_set_text measures the line under a window's cursor (32 KiB onto a short
  -- line: 1.2 ms with 'linebreak' on 0.12, 0.4 ms without; doc/BENCHMARKS.md).
  local wrap_back = region.nolbr and n > 1
  local long = len > LONG_LINE
  local wrapped = long and not region.nolbr
  if wrapped then
    plain_wrap(region, buf)
  end
  set_opt(buf, 'modifiable', true)
  local ok, err = pcall(api.nvim_buf_set_text, buf, row, col, row, col, lines)
  set_opt(buf, 'modifiable', false)
  if not ok then
    region.at = nil
    if wrapped then
      word_wrap(region) -- the text did not go in: nothing long to wrap
    end
    error(err)
  end
  local hl_own = own_hl[buf]
  -- The tail's line as it is now, when known without reading the buffer.
  local now
  if n > 1 then
    now = lines[n]
  elseif partial and hl_own then
    now = partial .. lines[1]
  end
  region.at = { last, len, api.nvim_buf_get_changedtick(buf), now and #now <= PEEK_MAX and now or nil }
  if wins then
    follow(buf, wins, wrap_back and row or nil, col + #lines[1])
  end
  if wrap_back and not long then
    word_wrap(region)
  end
  if not hl_own then
    return
  end
  -- Lines row .. row + #lines - 2 are complete now: their spans are computed for good.  The
  -- first one began before this piece: read it back unless known (once per line, when it ends).
  local st = region.hl
  if n > 1 then
    local first = partial and partial .. lines[1] or api.nvim_buf_get_lines(buf, row, row + 1, false)[1]
    hl.line(buf, row, first, st)
    if ends_body then
      st.fence = nil
    end
    for i = 2, n - 1 do
      hl.line(buf, row + i - 1, lines[i], st)
    end
  end
  -- The line being written: computed again with each piece while it is short.
  if len > 0 and len <= PEEK_MAX then
    if not now then
      now = api.nvim_buf_get_lines(buf, last, last + 1, false)[1]
      region.at[4] = now
    end
    hl.line(buf, last, now, st, true)
  end
end

--- Replaces the header line at offset i (0-based) of a region.
function M.set_header_line(region, i, line)
  local buf = region.buf
  if not api.nvim_buf_is_valid(buf) then
    return
  end
  local pos = api.nvim_buf_get_extmark_by_id(buf, ns, region.head, {})
  if not pos[1] then
    return
  end
  local row = pos[1] + i
  local old = api.nvim_buf_get_lines(buf, row, row + 1, false)[1]
  if not old then
    return
  end
  -- The line's text is replaced, not the line: the extmarks on it (the region's head) stay
  -- on their row.
  edit(buf, function()
    api.nvim_buf_set_text(buf, row, 0, row, #old, { line })
  end)
  if own_hl[buf] then
    hl.line(buf, row, line, {})
  end
end

--- The 1-based line range of a region's body (start, end), or nil.
function M.body_range(region)
  local buf = region.buf
  local s = api.nvim_buf_get_extmark_by_id(buf, ns, region.start, {})
  local t = api.nvim_buf_get_extmark_by_id(buf, ns, region.tail, {})
  if not s[1] or not t[1] then
    return nil
  end
  return s[1] + 1, t[1] + 1
end

return M
