-- The yardstick: a reproduction, written for this benchmark, of how the popular Neovim AI
-- plugins stream an answer.  It is nobody's code; it does what they do:
--   * curl runs as a child process (vim.fn.jobstart), its output arrives on the main loop;
--   * the SSE stream is split into lines and each `data:` line decoded with vim.json.decode
--     (vim.fn.json_decode where vim.json is missing), in Lua, on the main loop;
--   * every delta is written into the chat buffer at once: one nvim_buf_set_text at the end
--     of the buffer per delta, and the window showing it is moved to the end, so it follows.
-- The chat buffer is a visible markdown buffer with its undo history (as the chat buffers of
-- those plugins have).
local M = {}

local api = vim.api
local decode = vim.json and vim.json.decode or vim.fn.json_decode

--- Opens the chat window on the right (40 % of the columns, like ami's sidebar) without
--- leaving the current window.  Returns buf, win.
function M.open()
  local cur = api.nvim_get_current_win()
  local buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_option(buf, 'buftype', 'nofile')
  api.nvim_buf_set_option(buf, 'swapfile', false)
  api.nvim_buf_set_option(buf, 'filetype', 'markdown')
  vim.cmd(('botright vertical %dsplit'):format(math.max(10, math.floor(vim.o.columns * 0.4))))
  local win = api.nvim_get_current_win()
  api.nvim_win_set_buf(win, buf)
  api.nvim_win_set_option(win, 'wrap', true)
  api.nvim_win_set_option(win, 'linebreak', true)
  api.nvim_win_set_option(win, 'number', false)
  api.nvim_set_current_win(cur)
  return buf, win
end

-- Where the next text goes, kept in Lua rather than read back from the buffer (the cheaper
-- of the ways plugins do it, so the comparison does not flatter ami).
local ends = {}

-- Appends text at the end of buf, one nvim_buf_set_text, and moves win to the end.
local function append(buf, win, text)
  local e = ends[buf]
  if not e then
    local last = api.nvim_buf_line_count(buf) - 1
    e = { last, #api.nvim_buf_get_lines(buf, last, last + 1, false)[1] }
    ends[buf] = e
  end
  local lines = vim.split(text, '\n', { plain = true })
  api.nvim_buf_set_text(buf, e[1], e[2], e[1], e[2], lines)
  if #lines == 1 then
    e[2] = e[2] + #lines[1]
  else
    e[1], e[2] = e[1] + #lines - 1, #lines[#lines]
  end
  if api.nvim_win_is_valid(win) then
    api.nvim_win_set_cursor(win, { e[1] + 1, 0 })
  end
end

--- Streams a chat completion into buf.  opts: url (the base URL), key, model, question,
--- on_delta(text) (called after each write), on_done().
function M.ask(buf, win, opts)
  append(buf, win, '\n\n## Question\n\n' .. opts.question .. '\n\n## Answer\n\n')
  local body = vim.fn.json_encode({
    model = opts.model,
    stream = true,
    messages = { { role = 'user', content = opts.question } },
  })
  local partial = '' -- a line cut between two reads
  local function on_line(line)
    local payload = line:match('^data: (.*)')
    if not payload or payload == '[DONE]' then
      return
    end
    local ok, chunk = pcall(decode, payload)
    if not ok or type(chunk) ~= 'table' then
      return
    end
    local choice = chunk.choices and chunk.choices[1]
    local text = choice and choice.delta and choice.delta.content
    if type(text) == 'string' and text ~= '' then
      append(buf, win, text)
      if opts.on_delta then
        opts.on_delta(text)
      end
    end
  end
  return vim.fn.jobstart({
    'curl', '--silent', '--no-buffer', '-X', 'POST', opts.url .. '/chat/completions',
    '-H', 'Content-Type: application/json',
    '-H', 'Authorization: Bearer ' .. opts.key,
    '--data-binary', body,
  }, {
    on_stdout = function(_, data)
      -- data: the read split at newlines; its first item continues the last read's
      -- unfinished line, its last item is unfinished.
      data[1] = partial .. data[1]
      partial = data[#data]
      for i = 1, #data - 1 do
        on_line((data[i]:gsub('\r$', '')))
      end
    end,
    on_exit = function()
      if partial ~= '' then
        on_line(partial)
      end
      if opts.on_done then
        opts.on_done()
      end
    end,
  })
end

return M
