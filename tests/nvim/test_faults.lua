-- Faults on the Neovim side: quitting mid-answer, documents changed or closed while their
-- answer streams, eight answers at once, strange documents, the key out of sight.
local h = require('helpers')
local uv = vim.uv or vim.loop
local api = vim.api

local T = {}

local function finished(doc)
  local t = require('ami.thread').get(doc, false)
  return t and t.finished and #t.finished or 0
end

local function alive(pid)
  return vim.fn.isdirectory('/proc/' .. pid) == 1
end

T[#T + 1] = { 'quitting_neovim_mid_answer_ends_the_engine_and_records_a_cancel', function()
  local f = h.fake()
  local ledger = h.tmp .. '/quit.sqlite3'
  local c = h.child()
  c.lua([[
    local base, ledger = ...
    vim.env.OPENROUTER_API_KEY = 'sk-or-test-key-0123456789'
    vim.cmd('runtime plugin/ami.lua')
    require('ami').setup({ model = 'fake/endless?gap_ms=5', ledger = { path = ledger },
      providers = { openrouter = { base_url = base } } })
    vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'text' })
    vim.cmd('1Critique')
  ]], f.base(), ledger)
  h.wait(function()
    return c.lua([[return #table.concat(vim.api.nvim_buf_get_lines(require('ami.thread').get(1).buf, 0, -1, false)) > 200]])
  end, 5000, 'the stream')
  local pid = c.lua([[return require('ami.host').pid()]])
  h.ok(alive(pid), 'the engine runs')
  vim.rpcnotify(c.chan, 'nvim_command', 'qa!')
  local t0 = uv.hrtime()
  h.wait(function()
    return not alive(pid)
  end, 3000, 'the engine to exit')
  local ms = (uv.hrtime() - t0) / 1e6
  h.ok(ms < 1000, ('the engine exited within a second (%.0f ms)'):format(ms))
  h.eq('cancelled', vim.trim(vim.fn.system({ 'sqlite3', ledger, 'select status from requests' })))
  local disconnected = false
  for _, r in ipairs(f.requests()) do
    disconnected = disconnected or r.event == 'disconnect'
  end
  h.ok(disconnected, 'the connection to the provider was closed')
end }

T[#T + 1] = { 'editing_the_document_while_its_answer_streams', function()
  h.use_fake('fake/count?n=60&gap_ms=5')
  local doc = h.document({ 'one', 'two' })
  vim.cmd('1,2Critique')
  h.wait(function()
    return h.text(require('ami.thread').get(doc).buf):find('3 ', 1, true)
  end, 5000, 'text')
  api.nvim_buf_set_lines(doc, 0, 1, false, { 'ONE', 'inserted' })
  api.nvim_buf_set_lines(doc, -1, -1, false, { 'appended' })
  h.wait(function()
    return finished(doc) == 1
  end, 10000, 'the answer')
  h.eq({ 'ONE', 'inserted', 'two', 'appended' }, api.nvim_buf_get_lines(doc, 0, -1, false))
  h.contains(h.text(require('ami.thread').get(doc).buf), '58 59 60 ')
  -- The request carried the document as it was when asked.
  h.contains(h.chats()[1].body.messages[2].content, '<document>\none\ntwo\n</document>')
end }

T[#T + 1] = { 'closing_the_document_while_its_answer_streams', function()
  h.use_fake('fake/count?n=60&gap_ms=5')
  local doc = h.document({ 'to be closed' })
  vim.cmd('1Critique')
  local t = require('ami.thread').get(doc)
  h.wait(function()
    return h.text(t.buf):find('3 ', 1, true)
  end, 5000, 'text')
  vim.cmd('bwipeout! ' .. doc)
  h.wait(function()
    return t.finished and #t.finished == 1
  end, 10000, 'the answer')
  h.eq('done', t.finished[1].status)
  h.contains(h.text(t.buf), '58 59 60 ')
  for _, n in ipairs(h.notes) do
    h.ok(n.level ~= vim.log.levels.ERROR, 'no error: ' .. tostring(n.msg))
  end
end }

T[#T + 1] = { 'eight_answers_at_once_each_in_its_thread_with_its_cost', function()
  h.use_fake('fake/count?n=30&gap_ms=3')
  local docs = {}
  for i = 1, 8 do
    docs[i] = h.document({ 'document ' .. i })
    vim.cmd('1Critique')
  end
  h.wait(function()
    for _, d in ipairs(docs) do
      if finished(d) ~= 1 then
        return false
      end
    end
    return true
  end, 20000, 'eight answers')
  local want = {}
  for i = 1, 30 do
    want[#want + 1] = i .. ' '
  end
  want = table.concat(want)
  local bufs = {}
  for i, d in ipairs(docs) do
    local t = require('ami.thread').get(d)
    h.eq(want, table.concat(t.finished[1].chunks), 'answer ' .. i)
    h.eq(1, require('ami').cost(d).requests, 'cost of document ' .. i)
    h.ok(not bufs[t.buf], 'its own thread')
    bufs[t.buf] = true
  end
  h.eq(8, #h.chats())
end }

T[#T + 1] = { 'events_arriving_during_a_call_into_the_engine_wait_for_it', function()
  -- Neovim handles the engine's notifications inside vim.rpcrequest's wait.  A handler calling
  -- the engine from there nested a request whose answer Neovim expected before the outer one's,
  -- which the engine may already have sent: "ch N returned a response with an unknown request
  -- id", and the outer call lost.  Events are now held until the call returns.
  h.use_fake('fake/count?n=300&gap_ms=1')
  local host = require('ami.host')
  local in_call, inside, nested, active = false, 0, 0, true
  host.on('delta', function()
    if not active then
      return
    end
    if in_call then
      inside = inside + 1
    end
    if host.request('ping') then
      nested = nested + 1
    end
  end)
  local doc = h.document({ 'a line' })
  vim.cmd('1Critique')
  local pings, failures, last_err = 0, 0, nil
  local deadline = uv.hrtime() + 15e9
  while finished(doc) == 0 and uv.hrtime() < deadline do
    in_call = true
    local res, err = host.request('ping')
    in_call = false
    if res then
      pings = pings + 1
    else
      failures, last_err = failures + 1, err
    end
    vim.wait(1)
  end
  active = false
  h.eq(1, finished(doc), 'the answer ended')
  h.eq(0, failures, 'no call failed: ' .. tostring(last_err))
  h.ok(pings > 50, 'the calls ran while the answer streamed (' .. pings .. ')')
  h.eq(0, inside, 'no event was handled inside a call')
  h.ok(nested > 0, 'handlers called the engine')
  h.contains(h.text(require('ami.thread').get(doc).buf), '298 299 300 ')
  h.ok(not vim.fn.execute("messages"):find("unknown request id", 1, true), "no unknown response")
end }

-- Feeds one dispatch of events to the host module and collects what its listeners get for
-- answer `id`, turn by turn, until the 'done' event.
local function pieces_of(events, id)
  local host = require('ami.host')
  local pieces, order, active = {}, {}, true
  host.on('delta', function(ev)
    if active and ev.id == id then
      pieces[#pieces + 1] = ev.text
      order[#order + 1] = 'delta'
    end
  end)
  host.on('done', function(ev)
    if active and ev.id == id then
      order[#order + 1] = 'done'
    end
  end)
  host._dispatch(events)
  local at_once = #pieces
  h.wait(function()
    return order[#order] == 'done'
  end, 5000, 'the end')
  active = false
  h.eq(#pieces + 1, #order, 'the end after the last piece')
  return pieces, at_once
end

T[#T + 1] = { 'a_flood_is_put_in_by_pieces_and_nothing_is_lost_or_cut', function()
  -- One event of 80,000 bytes of two-byte characters without a line break: handled by pieces
  -- of at most TICK_BYTES, one per turn of the loop, never inside a character, in order.
  local max = require('ami.host').TICK_BYTES
  local text = ('é'):rep(40000)
  local pieces, at_once = pieces_of({ { type = 'delta', id = 4242, text = text }, { type = 'done', id = 4242 } }, 4242)
  h.eq(1, at_once, 'one piece at once')
  h.eq(table.concat(pieces), text, 'every byte, in order')
  for _, p in ipairs(pieces) do
    h.ok(#p <= max and #p >= max - 2 or p == pieces[#pieces], 'a piece is at most TICK_BYTES: ' .. #p)
    h.ok(p:sub(1, 2) == 'é' and p:sub(-2) == 'é', 'whole characters only')
  end
  h.ok(#pieces >= math.ceil(#text / max), 'by pieces: ' .. #pieces)
end }

T[#T + 1] = { 'a_flood_of_lines_is_put_in_by_whole_lines_and_a_small_delta_goes_first', function()
  -- 1,000 short lines in one event after a small one: the small one goes alone (the big one
  -- gets turns of its own), then pieces of at most TICK_LINES lines, each ending a line.
  local nl = require('ami.host').TICK_LINES
  local lines = {}
  for i = 1, 1000 do
    lines[i] = 'line ' .. i
  end
  local text = table.concat(lines, '\n') .. '\n'
  local pieces, at_once = pieces_of({ { type = 'delta', id = 4243, text = 'Hello ' },
    { type = 'delta', id = 4243, text = text }, { type = 'done', id = 4243 } }, 4243)
  h.eq(1, at_once, 'the small delta alone in the first turn')
  h.eq('Hello ', pieces[1])
  h.eq(table.concat(pieces, '', 2), text, 'every byte, in order')
  for i = 2, #pieces do
    local _, n = pieces[i]:gsub('\n', '')
    h.ok(n <= nl and pieces[i]:sub(-1) == '\n', 'piece ' .. i .. ': whole lines, at most TICK_LINES: ' .. n)
  end
  h.ok(#pieces - 1 >= math.ceil(1000 / nl), 'by pieces: ' .. #pieces)
end }

T[#T + 1] = { 'an_empty_buffer_is_refused_without_a_request', function()
  h.use_fake('fake/hello')
  h.document({ '' })
  vim.cmd('Critique')
  h.contains(h.notes[#h.notes].msg, 'the buffer is empty: there is nothing to critique')
  h.eq(0, #h.chats())
end }

T[#T + 1] = { 'a_selection_past_the_end_is_clamped', function()
  h.use_fake('fake/hello')
  local doc = h.document({ 'a', 'b', 'c' })
  require('ami.commands').critique({ range = 2, line1 = 2, line2 = 40, args = '' })
  h.wait(function()
    return finished(doc) == 1
  end, 10000, 'the answer')
  h.contains(h.chats()[1].body.messages[2].content, '(lines 2–3):\n\n<passage>\nb\nc\n</passage>')
end }

T[#T + 1] = { 'invalid_utf8_nul_bytes_long_lines_and_a_10_mb_document', function()
  -- A context large enough for all of it (shortening has its own tests).
  h.use_fake('fake/hello', { context_tokens = 50000000 })
  local long = string.rep('word ', 200000) -- one line of 1 MB
  local lines = { 'valid é', 'bad \255\254 bytes', 'a NUL \0 inside', long }
  for i = 1, 9000 do
    lines[#lines + 1] = string.rep('x', 1000) .. ' line ' .. i
  end
  local doc = h.document(lines)
  vim.cmd('2,3Critique')
  h.wait(function()
    return finished(doc) == 1
  end, 30000, 'the answer')
  h.eq('done', require('ami.thread').get(doc).finished[1].status)
  -- Read the logged request as raw JSON: Vim's json_decode stops strings at a NUL.
  local raw
  for line in io.lines(h.tmp .. '/fake-requests.jsonl') do
    if line:find('"method": "POST"', 1, true) then
      raw = line
    end
  end
  h.ok(raw, 'a POST was logged')
  h.ok(#raw > 10 * 1000 * 1000, 'the whole 10 MB went: ' .. #raw)
  h.contains(raw, 'bad \\ufffd\\ufffd bytes', 'each invalid byte became U+FFFD')
  h.contains(raw, 'a NUL \\u0000 inside', 'the NUL was escaped')
  h.contains(raw, 'line 9000')
end }

T[#T + 1] = { 'the_key_is_not_in_the_engines_command_line', function()
  local key = 'sk-or-v1-cmdline-secret-999'
  vim.env.OPENROUTER_API_KEY = key
  h.use_fake('fake/key-echo')
  local doc = h.document({ 'text' })
  vim.cmd('1Critique')
  h.wait(function()
    return finished(doc) == 1
  end, 10000, 'the answer')
  local pid = require('ami.host').pid()
  local f = assert(io.open('/proc/' .. pid .. '/cmdline', 'rb'))
  local cmdline = f:read('*a')
  f:close()
  h.ok(not cmdline:find(key, 1, true), 'not in argv: ' .. cmdline)
  local text = h.text(require('ami.thread').get(doc).buf)
  h.contains(text, 'Invalid API key provided: ***')
  h.ok(not text:find(key, 1, true), 'masked in the sidebar')
  for _, n in ipairs(h.notes) do
    h.ok(not tostring(n.msg):find(key, 1, true), 'masked in notifications')
  end
  h.ok(not table.concat(require('ami.host').log(), '\n'):find(key, 1, true), 'masked in the log')
  vim.env.OPENROUTER_API_KEY = 'sk-or-test-key-0123456789'
end }

return T
