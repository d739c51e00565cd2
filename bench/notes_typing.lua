-- What margin notes cost the writer per typed character: a 1 MB Markdown document with 100
-- notes placed on it, then characters typed in insert mode (feedkeys, as typed input), beside
-- the same typing in the same document without notes.  Run headless:
--
--   nvim --headless -n -u NONE -i NONE --cmd 'set rtp^=.' -l bench/notes_typing.lua [ROUNDS]
--
-- (0.7.2 has no -l: `-c 'luafile bench/notes_typing.lua' -c q`.)  Prints one JSON line:
-- {"chars": N, "with_notes_us": median µs per char, "without_us": …, "ratio": …}.
local api = vim.api
local uv = vim.uv or vim.loop

local rounds = tonumber((arg and arg[1]) or vim.env.ROUNDS or '') or 5
local CHARS = 400

require('ami').setup({ ledger = { enabled = false } })
local notes = require('ami.notes')

local function document()
  local lines, size, i = {}, 0, 0
  while size < 1024 * 1024 do
    i = i + 1
    local l = ('Ligne %d : le problème, c\'est que ça finit par faire le travail à notre place, %d.'):format(i, i)
    lines[#lines + 1] = l
    size = size + #l + 1
  end
  return lines
end

local lines = document()

local function buffer(with_notes)
  vim.cmd('enew!')
  local buf = api.nvim_get_current_buf()
  vim.bo[buf].undolevels = -1
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  if with_notes then
    local token = notes.begin(buf)
    local step = math.floor(#lines / 100)
    for k = 1, 100 do
      local row = (k - 1) * step
      local l = lines[row + 1]
      local s = l:find('ça finit', 1, true) - 1
      notes.on_note(buf, token, {
        uid = 'bench.' .. k, seq = k, kind = 'clarity', quote = 'ça finit par faire',
        anchor = 'exact', range = { row, s, row, s + #'ça finit par faire' },
        words = 'ça finit par faire', id = 0,
      })
    end
    notes.done(buf, token)
  end
  -- Type in the middle of the document, on a line that has a note when there are notes.
  local row = math.floor(#lines / 100) * 50
  api.nvim_win_set_cursor(0, { row + 1, 10 })
  return buf
end

local function typing_us(with_notes)
  buffer(with_notes)
  vim.wait(0)
  local keys = api.nvim_replace_termcodes('i' .. string.rep('x', CHARS) .. '<Esc>', true, false, true)
  local t0 = uv.hrtime()
  api.nvim_feedkeys(keys, 'tx', false)
  vim.wait(0) -- the scheduled checks of the touched notes
  local t1 = uv.hrtime()
  return (t1 - t0) / 1e3 / CHARS
end

local function median(t)
  table.sort(t)
  return t[math.floor((#t + 1) / 2)]
end

local with, without = {}, {}
typing_us(true) -- warm up
for _ = 1, rounds do
  without[#without + 1] = typing_us(false)
  with[#with + 1] = typing_us(true)
end
local w, wo = median(with), median(without)
io.stdout:write(vim.fn.json_encode({ chars = CHARS, rounds = rounds, with_notes_us = w,
  without_us = wo, ratio = w / wo, document_bytes = #table.concat(lines, '\n') + 1 }) .. '\n')
vim.cmd('qall!')
