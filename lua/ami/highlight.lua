-- ami.highlight: the Markdown highlighting of the thread buffers, cheap enough to run while
-- an answer streams.
--
-- A line's spans (heading, quote, code, list marker, `code`, **bold**, *italic*) are
-- computed once, when the line is complete (the line being written: again with each piece
-- while it is short), and kept per row.  They are drawn by a decoration provider, as
-- ephemeral extmarks of the lines Neovim draws.  Persistent extmarks cost far more: setting
-- one on a line in the same redraw as the window scrolls made Neovim redraw the whole
-- window on every frame (35 lines a frame instead of 3 to 5 on 0.7, and the same on 0.12
-- when the mark came before the scroll; doc/BENCHMARKS.md).  The regex syntax and
-- tree-sitter are off in these buffers (see ami.sidebar): they re-read far more than a line.
--
-- Rows follow the buffer's changes (nvim_buf_attach): lines inserted or deleted above move
-- the spans below them; a changed line loses its spans until the caller computes them again.
local M = {}

local api = vim.api
local ns = api.nvim_create_namespace('ami.sidebar.hl')
M.ns = ns

-- Highlight groups, linked by default to what Markdown's syntax uses.
for group, link in pairs({ AmiHeading = 'Title', AmiCode = 'String', AmiCodeDelimiter = 'Delimiter',
  AmiListMarker = 'Statement', AmiQuote = 'Comment', AmiRule = 'PreProc' }) do
  vim.cmd(('highlight default link %s %s'):format(group, link))
end
vim.cmd('highlight default AmiBold term=bold cterm=bold gui=bold')
vim.cmd('highlight default AmiItalic term=italic cterm=italic gui=italic')

-- buf -> { rows = { [row] = { s1, e1, group1, s2, e2, group2, ... } }, last = highest row }
local bufs = {}

-- ---- the spans of one line ----------------------------------------------------------------

local function add(out, group, s, e)
  local n = #out
  out[n + 1], out[n + 2], out[n + 3] = s, e, group
end

-- Whether [s, e) overlaps one of the code spans (a flat list of starts and ends).
local function in_code(code, s, e)
  for i = 1, #code, 2 do
    if s < code[i + 1] and e > code[i] then
      return true
    end
  end
  return false
end

-- The matches of pat in line, left to right, without overlap: [s, e] 1-based, or nil.
local function matches(line, pat)
  local i = 1
  return function()
    local s, e = line:find(pat, i)
    if s then
      i = e + 1
    end
    return s, e
  end
end

-- `code`, **bold** and *italic* spans of a line outside code blocks; nothing inside `code`
-- is bold or italic.
local function inline(out, line)
  local code = {}
  if line:find('`', 1, true) then
    for s, e in matches(line, '`[^`]+`') do
      add(out, 'AmiCode', s - 1, e)
      code[#code + 1], code[#code + 2] = s - 1, e
    end
  end
  if not line:find('*', 1, true) then
    return
  end
  for s, e in matches(line, '%*%*[^%s*][^*]-%*%*') do
    if not in_code(code, s - 1, e) then
      add(out, 'AmiBold', s - 1, e)
    end
  end
  for s, e in matches(line, '%f[*]%*[^%s*][^*]-%*') do
    if line:sub(e + 1, e + 1) ~= '*' and not in_code(code, s - 1, e) then
      add(out, 'AmiItalic', s - 1, e)
    end
  end
end

-- Longer lines (no prose paragraph is) get their block's highlight only: the inline
-- patterns would cost milliseconds on a line of a hundred kilobytes.
local INLINE_MAX = 4000

-- Bytes that %s matches; what a line's first other byte is decides which block patterns can
-- match at all (most lines are prose: no pattern but the inline ones is tried on them).
local SPACE = { [9] = true, [10] = true, [11] = true, [12] = true, [13] = true, [32] = true }
local B_TICK, B_TILDE, B_HASH, B_GT = 96, 126, 35, 62
local RULE_START = { [45] = true, [42] = true, [95] = true } -- - * _
local ITEM_START = { [45] = true, [42] = true, [43] = true } -- - * +

--- The spans of line as a flat list { s, e, group, ... } (0-based, end exclusive).
--- st.fence: the open code fence, if any; updated unless peek (the line is not complete
--- yet: it will be computed again).  Pure: no buffer is read or written.
function M.spans_of(line, st, peek)
  local out = {}
  local c = line:byte(1)
  if c and SPACE[c] then
    local i = line:find('%S')
    c = i and line:byte(i)
  end
  local fence
  if c == B_TICK or c == B_TILDE then
    fence = line:match('^%s*(```+)') or line:match('^%s*(~~~+)')
  end
  if st.fence then
    if fence and fence:sub(1, 1) == st.fence:sub(1, 1) and #fence >= #st.fence then
      add(out, 'AmiCodeDelimiter', 0, #line)
      if not peek then
        st.fence = nil
      end
    else
      add(out, 'AmiCode', 0, #line)
    end
  elseif fence then
    add(out, 'AmiCodeDelimiter', 0, #line)
    if not peek then
      st.fence = fence
    end
  elseif line:byte(1) == B_HASH and line:find('^#+%s') then
    add(out, 'AmiHeading', 0, #line)
  elseif line:byte(1) == B_GT then
    add(out, 'AmiQuote', 0, #line)
  elseif RULE_START[c] and line:find('^%s*[-*_]%s*[-*_]%s*[-*_][-*_%s]*$') then
    add(out, 'AmiRule', 0, #line)
  else
    local s, e
    if ITEM_START[c] then
      s, e = line:find('^%s*[-*+]%s')
    elseif c and c >= 48 and c <= 57 then
      s, e = line:find('^%s*%d+[.)]%s')
    end
    if s then
      add(out, 'AmiListMarker', 0, e - 1)
    end
    if #line <= INLINE_MAX then
      inline(out, line)
    end
  end
  return out
end

-- ---- rows of a buffer ---------------------------------------------------------------------

-- A change of lines [first, last_old) into [first, last_new): the changed rows lose their
-- spans, the rows below move.
local function on_lines(_, buf, _, first, last_old, last_new)
  local b = bufs[buf]
  if not b then
    return true -- detach
  end
  local rows = b.rows
  local delta = last_new - last_old
  if delta == 0 then
    for r = first, last_old - 1 do
      rows[r] = nil
    end
    return
  end
  local moved = {}
  for r = last_old, b.last do
    if rows[r] then
      moved[r + delta] = rows[r]
      rows[r] = nil
    end
  end
  for r = first, last_old - 1 do
    rows[r] = nil
  end
  for r, v in pairs(moved) do
    rows[r] = v
  end
  b.last = math.max(first, b.last + delta)
end

--- Highlights buf from now on (its rows are tracked from here).
function M.attach(buf)
  if bufs[buf] then
    return
  end
  bufs[buf] = { rows = {}, last = -1 }
  api.nvim_buf_attach(buf, false, {
    on_lines = on_lines,
    on_reload = function()
      if bufs[buf] then
        bufs[buf].rows, bufs[buf].last = {}, -1
      end
    end,
    on_detach = function()
      bufs[buf] = nil
    end,
  })
end

function M.attached(buf)
  return bufs[buf] ~= nil
end

--- Computes and keeps the spans of row (0-based), whose text is line.  See spans_of.
function M.line(buf, row, line, st, peek)
  local b = bufs[buf]
  if not b then
    return
  end
  local out = M.spans_of(line, st, peek)
  b.rows[row] = #out > 0 and out or nil
  if row > b.last then
    b.last = row
  end
end

--- The spans kept for row: { s, e, group, ... } or nil (tests; :Inspect has no ephemeral
--- marks to show).
function M.spans(buf, row)
  local b = bufs[buf]
  return b and b.rows[row]
end

-- ---- drawing ------------------------------------------------------------------------------

local opts = { end_row = 0, end_col = 0, hl_group = '', ephemeral = true }
local set_extmark = api.nvim_buf_set_extmark

local function draw(buf, row, spans)
  opts.end_row = row
  for i = 1, #spans, 3 do
    opts.end_col = spans[i + 1]
    opts.hl_group = spans[i + 2]
    set_extmark(buf, ns, row, spans[i], opts)
  end
end

api.nvim_set_decoration_provider(ns, {
  on_win = function(_, _, buf)
    return bufs[buf] ~= nil
  end,
  on_line = function(_, _, buf, row)
    local b = bufs[buf]
    local spans = b and b.rows[row]
    if spans then
      -- A span past the end of its line (which only a change made behind our back could
      -- cause) is dropped rather than stopping the provider.
      if not pcall(draw, buf, row, spans) then
        b.rows[row] = nil
      end
    end
  end,
})

return M
