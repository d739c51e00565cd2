-- ami.input: typing a follow-up in the thread, as in the chat plugins users know.
--
-- In a thread window, `i`, `a` or <CR> (keys.open) opens a small Markdown scratch window at the
-- bottom of the sidebar, and only then takes the focus: the writer asked for it.  <CR> in
-- normal mode or <C-s> in insert mode sends; q or <Esc><Esc> closes without sending (the text
-- is kept for the next opening); <Up>/<Down> (or <C-p>/<C-n>) walk this document's earlier
-- questions.  Every key is buffer-local and configurable (`:help ami-thread-keys`).
--
-- While an answer streams the writer can read, scroll and type the next question; sending
-- then queues it: it goes as soon as the running answer ends (the thread says so).
local M = {}

local api = vim.api
local compat = require('ami.compat')

local inputs = {} -- thread -> { buf, win, from, draft, hist_i }

local function keys_of(name)
  local k = require('ami.config').get().keys[name]
  if k == false or k == nil then
    return {}
  end
  return type(k) == 'string' and { k } or k
end

local function map(buf, modes, name, fn, desc)
  for _, lhs in ipairs(keys_of(name)) do
    vim.keymap.set(modes, lhs, fn, { buffer = buf, nowait = true, silent = true, desc = 'ami: ' .. desc })
  end
end

local function text_of(buf)
  return vim.trim(table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), '\n'))
end

--- The questions asked in thread t, oldest first (the restored ones too).
function M.history(t)
  local res = {}
  for _, turn in ipairs(t.turns) do
    if turn.question and turn.question ~= '' and not turn.preset then
      table.insert(res, turn.question)
    end
  end
  return res
end

local function close(t, keep_draft)
  local st = inputs[t]
  if not st then
    return
  end
  inputs[t] = nil
  if st.buf and api.nvim_buf_is_valid(st.buf) then
    t.draft = keep_draft and text_of(st.buf) or nil
  end
  if st.win and api.nvim_win_is_valid(st.win) then
    api.nvim_win_close(st.win, true)
  end
  if st.buf and api.nvim_buf_is_valid(st.buf) then
    api.nvim_buf_delete(st.buf, { force = true })
  end
  if st.from and api.nvim_win_is_valid(st.from) then
    api.nvim_set_current_win(st.from)
  end
  vim.cmd('stopinsert')
end

local function walk(t, step)
  local st = inputs[t]
  if not st then
    return
  end
  local hist = M.history(t)
  if #hist == 0 then
    return
  end
  if st.hist_i == nil then
    st.saved = text_of(st.buf)
    st.hist_i = #hist + 1
  end
  local i = math.max(1, math.min(#hist + 1, st.hist_i + step))
  st.hist_i = i
  local text = i == #hist + 1 and (st.saved or '') or hist[i]
  api.nvim_buf_set_lines(st.buf, 0, -1, false, vim.split(text, '\n', { plain = true }))
  local last = api.nvim_buf_line_count(st.buf)
  api.nvim_win_set_cursor(st.win, { last, #api.nvim_buf_get_lines(st.buf, last - 1, last, false)[1] })
end

local function send(t)
  local st = inputs[t]
  if not st then
    return
  end
  local question = text_of(st.buf)
  if question == '' then
    vim.notify('ami: type a question first (q closes)', vim.log.levels.INFO)
    return
  end
  api.nvim_buf_set_lines(st.buf, 0, -1, false, {})
  close(t, false)
  require('ami.thread').follow_up(t, question)
end

--- Opens the input area of thread t at the bottom of its sidebar window, with the focus.
function M.open(t)
  local sidebar = require('ami.sidebar')
  local st = inputs[t]
  if st and st.win and api.nvim_win_is_valid(st.win) then
    api.nvim_set_current_win(st.win)
    return st
  end
  local from = api.nvim_get_current_win()
  local side = sidebar.show(t.buf)
  local buf = api.nvim_create_buf(false, true)
  compat.set_buf(buf, 'buftype', 'nofile')
  compat.set_buf(buf, 'bufhidden', 'wipe')
  compat.set_buf(buf, 'swapfile', false)
  compat.set_buf(buf, 'filetype', 'markdown')
  pcall(api.nvim_buf_set_name, buf, 'ami-input://' .. t.name)
  local win
  api.nvim_win_call(side, function()
    vim.cmd('noautocmd belowright 5split')
    win = api.nvim_get_current_win()
    api.nvim_win_set_buf(win, buf)
  end)
  compat.set_win(win, 'winfixheight', true)
  compat.set_win(win, 'number', false)
  compat.set_win(win, 'relativenumber', false)
  compat.set_win(win, 'signcolumn', 'no')
  compat.set_win(win, 'wrap', true)
  if vim.fn.exists('+winbar') == 1 then
    compat.set_win(win, 'winbar', '%#Title#ami · ask a follow-up%*  <CR>/<C-s> send · q close')
  else -- Neovim 0.7: no winbar, the command line says it
    api.nvim_echo({ { 'ami · ask a follow-up: <CR> (normal) or <C-s> (insert) sends, q closes', 'Title' } },
      false, {})
  end
  st = { buf = buf, win = win, from = api.nvim_win_is_valid(from) and from or side }
  inputs[t] = st
  if t.draft and t.draft ~= '' then
    api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(t.draft, '\n', { plain = true }))
  end
  map(buf, 'n', 'send', function() send(t) end, 'send the question')
  map(buf, 'i', 'send_insert', function() send(t) end, 'send the question')
  map(buf, 'n', 'close', function() close(t, true) end, 'close without sending')
  map(buf, 'i', 'close_insert', function() close(t, true) end, 'close without sending')
  map(buf, { 'n', 'i' }, 'history_prev', function() walk(t, -1) end, 'the previous question')
  map(buf, { 'n', 'i' }, 'history_next', function() walk(t, 1) end, 'the next question')
  api.nvim_create_autocmd('WinClosed', {
    pattern = tostring(win),
    once = true,
    callback = function()
      if inputs[t] and inputs[t].buf == buf then
        inputs[t] = nil
        t.draft = api.nvim_buf_is_valid(buf) and text_of(buf) or t.draft
      end
    end,
  })
  api.nvim_set_current_win(win)
  vim.cmd('startinsert!')
  return st
end

--- The input of thread t, if open: { buf, win }.
function M.get(t)
  return inputs[t]
end

--- Sets the thread buffer's own keys: open the input, stop the answers.
function M.attach(t)
  if t.keys_set then
    return
  end
  t.keys_set = true
  map(t.buf, 'n', 'open', function() M.open(t) end, 'ask a follow-up')
  map(t.buf, 'n', 'stop', function() require('ami.commands').stop() end, 'stop the answer')
end

return M
