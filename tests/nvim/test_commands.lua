-- The writing commands against the fake provider: :Critique, :Explain, :AmiAsk, :AmiStop,
-- :AmiQuote, :AmiModel, the sidebar, errors and a crashing engine.
local h = require('helpers')
local uv = vim.uv or vim.loop
local api = vim.api

local T = {}

local function sidebar_text(doc)
  local t = require('ami.thread').get(doc, false)
  return h.text(t.buf)
end

local function last_user_message(req)
  local msgs = req.body.messages
  return msgs[#msgs].content
end

T[#T + 1] = { 'critique_sends_the_document_the_passage_and_the_question', function()
  h.use_fake('fake/hello')
  local doc = h.document({ '# Note', '', 'Première phrase à juger, elle est longue pour ce que je veux dire.',
    'Deuxième phrase.', 'Fin.' }, 'note.md')
  vim.cmd('3,4Critique Est-ce explicite ?')
  h.wait_answer(doc)
  local chats = h.chats()
  h.eq(1, #chats)
  local body = chats[1].body
  h.eq('fake/hello', body.model)
  h.eq(true, body.stream)
  local system = body.messages[1]
  h.eq('system', system.role)
  h.contains(system.content, 'Never rewrite the passage')
  h.contains(system.content, 'Answer in French.')
  local user = last_user_message(chats[1])
  h.contains(user, '<document>\n# Note\n\nPremière phrase à juger, elle est longue pour ce que je veux dire.\nDeuxième phrase.\nFin.\n</document>')
  h.contains(user, '(lines 3–4):\n\n<passage>\nPremière phrase à juger, elle est longue pour ce que je veux dire.\nDeuxième phrase.\n</passage>')
  h.contains(user, 'My question: Est-ce explicite ?')
  h.contains(user, '/note.md", 5 lines')
end }

T[#T + 1] = { 'the_answer_lands_in_the_sidebar_exactly', function()
  h.use_fake('fake/hello')
  local doc = h.document({ 'Some text to judge.' })
  vim.cmd('1Critique')
  h.wait_answer(doc)
  local t = require('ami.thread').get(doc, false)
  local lines = api.nvim_buf_get_lines(t.buf, 0, -1, false)
  h.eq('# ami · [No Name]', lines[1])
  h.eq('## Critique · [No Name], line 1', lines[3])
  h.eq('> ' .. require('ami.thread').default_question, lines[4])
  h.ok(lines[5]:match('^%*fake/hello · %d%d:%d%d%*$'), 'header names the model: ' .. lines[5])
  h.eq('Hello, world! Ça va ? 👋', lines[7])
  h.ok(lines[9]:match('^%*— fake/hello%-20250101 · %d+ in · 6 out · %$0%.%d+ · ~0%.%d gCO₂e · %d+%.%d s%*$'),
    'footer: ' .. tostring(lines[9]))
  h.eq('ami://[No Name]/' .. doc, api.nvim_buf_get_name(t.buf))
  h.eq('nofile', vim.bo[t.buf].buftype)
  h.eq('markdown', vim.bo[t.buf].filetype)
  h.eq(-1, vim.bo[t.buf].undolevels)
end }

T[#T + 1] = { 'streaming_never_moves_focus_cursor_or_window', function()
  h.use_fake('fake/essay?n=600&tps=3000')
  local doc = h.document({ 'alpha', 'beta', 'gamma', 'delta' })
  api.nvim_win_set_cursor(0, { 3, 2 })
  local win = api.nvim_get_current_win()
  vim.cmd('2,3Critique')
  local changed = nil
  local function check()
    if api.nvim_get_current_win() ~= win then
      changed = 'window'
    elseif not vim.deep_equal(api.nvim_win_get_cursor(win), { 3, 2 }) then
      changed = 'cursor'
    elseif api.nvim_get_mode().mode ~= 'n' then
      changed = 'mode'
    end
  end
  local t = require('ami.thread')
  h.wait(function()
    check()
    local th = t.get(doc, false)
    return changed or (th and th.finished and #th.finished > 0)
  end, 10000, 'the essay to end')
  h.eq(nil, changed, 'what changed')
  h.eq(2, #api.nvim_list_wins(), 'the sidebar opened beside the document')
  h.ok(#sidebar_text(doc) > 2000, 'the essay arrived')
end }

T[#T + 1] = { 'typing_during_a_stream_goes_to_the_document', function()
  local f = h.fake()
  local c = h.child()
  c.lua([[
    vim.env.OPENROUTER_API_KEY = 'sk-or-test-key-0123456789'
    vim.cmd('runtime plugin/ami.lua')
    require('ami').setup({ model = 'fake/essay?n=400&tps=400',
      providers = { openrouter = { base_url = ... } } })
    vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'first line', 'second line' })
    vim.cmd('1,2Critique')
  ]], f.base())
  -- Wait for the answer to start, then type while it streams.
  h.wait(function()
    return c.lua([[return #require('ami.thread').running_ids(require('ami.thread').get(1, false) or {}) > 0
      and #(vim.api.nvim_buf_get_lines(require('ami.thread').get(1).buf, 0, -1, false)) > 8]])
  end, 5000, 'the stream to start in the child')
  c.input('Go')
  for _, ch in ipairs({ 't', 'y', 'p', 'e', 'd', ' ', 'w', 'h', 'i', 'l', 'e' }) do
    c.input(ch)
    vim.wait(15)
  end
  c.input('<Esc>')
  local running_when_typed = c.lua([[return #require('ami.thread').running_ids(require('ami.thread').get(1)) > 0]])
  h.ok(running_when_typed, 'the answer was still streaming while typing')
  h.wait(function()
    return c.lua([[local t = require('ami.thread').get(1); return t.finished and #t.finished > 0]])
  end, 10000, 'the answer to end in the child')
  h.eq({ 'first line', 'second line', 'typed while' }, c.lua([[return vim.api.nvim_buf_get_lines(1, 0, -1, false)]]))
  h.eq('n', c.lua([[return vim.api.nvim_get_mode().mode]]))
  h.eq(1, c.lua([[return vim.api.nvim_get_current_buf()]]))
  local side = c.lua([[return table.concat(vim.api.nvim_buf_get_lines(require('ami.thread').get(1).buf, 0, -1, false), '\n')]])
  h.ok(not side:find('typed while', 1, true), 'nothing typed went to the sidebar')
end }

T[#T + 1] = { 'the_sidebar_follows_only_while_its_cursor_is_on_the_last_line', function()
  h.use_fake('fake/essay?n=800&tps=4000')
  local doc = h.document({ 'text' })
  vim.cmd('1Critique')
  local t = require('ami.thread').get(doc, false)
  local sw = vim.fn.bufwinid(t.buf)
  h.wait(function()
    return api.nvim_buf_line_count(t.buf) > 20
  end, 5000, 'some lines')
  -- Following: the sidebar's cursor is at the end.
  h.eq(api.nvim_buf_line_count(t.buf), api.nvim_win_get_cursor(sw)[1])
  -- Move it up: it stays there while the text grows.
  api.nvim_win_set_cursor(sw, { 3, 0 })
  h.wait_answer(doc)
  h.eq(3, api.nvim_win_get_cursor(sw)[1])
end }

T[#T + 1] = { 'ask_carries_the_earlier_turns', function()
  h.use_fake('fake/hello')
  local doc = h.document({ 'Un texte court.', 'Une suite.' })
  vim.cmd('1Critique')
  h.wait_answer(doc)
  vim.cmd('AmiAsk Et la deuxième ligne ?')
  h.wait(function()
    return #require('ami.thread').get(doc).finished == 2
  end, 10000, 'the follow-up')
  local chats = h.chats()
  h.eq(2, #chats)
  local msgs = chats[2].body.messages
  h.eq({ 'system', 'user', 'assistant', 'user' }, vim.tbl_map(function(m)
    return m.role
  end, msgs))
  h.contains(msgs[2].content, '<passage>\nUn texte court.\n</passage>')
  h.eq('Hello, world! Ça va ? 👋', msgs[3].content)
  h.eq('Et la deuxième ligne ?', msgs[4].content)
  h.contains(sidebar_text(doc), '## Follow-up\n> Et la deuxième ligne ?')
end }

T[#T + 1] = { 'stop_closes_the_connection_and_keeps_the_partial_text', function()
  local f = h.use_fake('fake/endless?gap_ms=5')
  local doc = h.document({ 'text' })
  vim.cmd('1Critique')
  local t = require('ami.thread').get(doc, false)
  h.wait(function()
    return sidebar_text(doc):find('6 ', 1, true) ~= nil or #sidebar_text(doc) > 400
  end, 5000, 'some text')
  local t0 = uv.hrtime()
  vim.cmd('AmiStop')
  h.wait(function()
    for _, r in ipairs(f.requests()) do
      if r.event == 'disconnect' then
        return true
      end
    end
  end, 2000, 'the fake provider to see the connection close')
  h.ok((uv.hrtime() - t0) / 1e6 < 2000, 'closed within 2 s')
  h.wait_answer(doc)
  local text = sidebar_text(doc)
  h.contains(text, '**⚠ stopped: stopped by the user (partial answer kept)**')
  h.eq('cancelled', t.finished[1].status)
  h.ok(#t.finished[1].chunks > 0, 'partial text kept')
end }

T[#T + 1] = { 'quote_inserts_a_marked_quotation_naming_the_answering_model', function()
  h.use_fake('fake/hello')
  local doc = h.document({ 'My paragraph.', 'Last line.' })
  api.nvim_win_set_cursor(0, { 1, 0 })
  vim.cmd('1Critique')
  local t = h.wait_answer(doc)
  local docwin = api.nvim_get_current_win()
  local sw = vim.fn.bufwinid(t.buf)
  api.nvim_set_current_win(sw)
  local lines = api.nvim_buf_get_lines(t.buf, 0, -1, false)
  local l
  for i, line in ipairs(lines) do
    if line == 'Hello, world! Ça va ? 👋' then
      l = i
    end
  end
  vim.cmd(l .. 'AmiQuote')
  h.eq({
    'My paragraph.',
    '> Hello, world! Ça va ? 👋',
    '>',
    '> — fake/hello-20250101, ' .. os.date('%Y-%m-%d'),
    'Last line.',
  }, api.nvim_buf_get_lines(doc, 0, -1, false))
  -- Outside an answer: refused, the document untouched.
  vim.cmd('1AmiQuote')
  h.contains(h.notes[#h.notes].msg, 'select lines inside one answer')
  h.eq(5, api.nvim_buf_line_count(doc))
  api.nvim_set_current_win(docwin)
  -- Other formats.
  local q = require('ami.quote')
  h.eq({ '“a', 'b”', '— m, d' }, q.format({ 'a', 'b' }, 'm', 'd', 'plain'))
  h.eq({ '> a', '> (m, d)' }, q.format({ 'a' }, 'm', 'd', '{quoted}\n> ({model}, {date})'))
end }

T[#T + 1] = { 'explain_asks_about_the_word_under_the_cursor', function()
  h.use_fake('fake/hello')
  local doc = h.document({ 'First paragraph.', '', 'I moved from avante.nvim, to something lighter.', 'Still there.', '', 'Other.' })
  api.nvim_win_set_cursor(0, { 3, 15 })
  vim.cmd('Explain')
  h.wait_answer(doc)
  local user = last_user_message(h.chats()[1])
  h.contains(user, 'What does the name "avante.nvim" refer to, and where does it come from?')
  h.contains(user, '<context>\nI moved from avante.nvim, to something lighter.\nStill there.\n</context>')
  h.ok(not user:find('First paragraph', 1, true), 'only the paragraph goes along')
  h.contains(h.chats()[1].body.messages[1].content, 'etymology')
  h.contains(sidebar_text(doc), '## Explain · “avante.nvim”')
  -- A name given explicitly wins.
  vim.cmd('Explain OpenRouter')
  h.wait(function()
    return #h.chats() == 2 and #require('ami.thread').get(doc).finished == 2
  end, 10000, 'the second explanation')
  h.contains(last_user_message(h.chats()[2]), '"OpenRouter"')
end }

T[#T + 1] = { 'two_concurrent_answers_land_in_their_own_threads', function()
  h.use_fake('fake/count?n=40&gap_ms=5')
  local a = h.document({ 'document A' })
  vim.cmd('1Critique')
  vim.cmd('vsplit')
  local b = h.document({ 'document B' })
  vim.cmd('1Critique')
  h.wait_answer(a)
  h.wait_answer(b)
  local ta, tb = require('ami.thread').get(a), require('ami.thread').get(b)
  h.ok(ta.buf ~= tb.buf, 'two thread buffers')
  local want = {}
  for i = 1, 40 do
    want[#want + 1] = i .. ' '
  end
  want = table.concat(want)
  h.eq(want, table.concat(ta.finished[1].chunks))
  h.eq(want, table.concat(tb.finished[1].chunks))
  h.contains(sidebar_text(a), want)
  h.contains(sidebar_text(b), want)
  h.eq(1, require('ami').cost(a).requests)
  h.eq(1, require('ami').cost(b).requests)
end }

T[#T + 1] = { 'a_killed_engine_is_reported_and_the_next_command_works', function()
  h.use_fake('fake/endless?gap_ms=10')
  local doc = h.document({ 'text' })
  vim.cmd('1Critique')
  h.wait(function()
    local ids = require('ami.thread').running_ids(require('ami.thread').get(doc))
    return sidebar_text(doc):find('3 ', 1, true) and #ids == 1
  end, 5000, 'text')
  uv.kill(require('ami.host').pid(), 9)
  h.wait_answer(doc)
  h.contains(sidebar_text(doc), '**⚠ interrupted: the engine process stopped; the answer is incomplete (partial answer kept)**')
  h.wait(function()
    return #h.notes_matching('engine process stopped') == 1
  end, 2000, 'one notice')
  h.eq(1, #h.notes_matching('engine process stopped'), 'told once')
  require('ami').setup({ model = 'fake/hello', providers = { openrouter = { base_url = h.fake().base() } } })
  vim.cmd('1Critique')
  h.wait(function()
    return #require('ami.thread').get(doc).finished == 2
  end, 10000, 'the next answer')
  h.eq('done', require('ami.thread').get(doc).finished[2].status)
end }

T[#T + 1] = { 'errors_appear_in_the_thread_and_as_a_notification', function()
  h.use_fake('fake/http-error?status=402&times=-1')
  local doc = h.document({ 'text' })
  vim.cmd('1Critique')
  h.wait_answer(doc)
  local want = 'openrouter refused the request (HTTP 402 Payment Required): Insufficient credits'
  h.contains(sidebar_text(doc), '**⚠ error: ' .. want)
  h.eq(1, #h.notes_matching(want))
  -- A missing key, named.
  vim.env.OPENROUTER_API_KEY = nil
  require('ami.host').stop()
  vim.cmd('1Critique')
  h.wait(function()
    return #require('ami.thread').get(doc).finished == 2
  end, 10000, 'the second error')
  h.contains(sidebar_text(doc), 'no API key for openrouter: set OPENROUTER_API_KEY')
  vim.env.OPENROUTER_API_KEY = 'sk-or-test-key-0123456789'
end }

T[#T + 1] = { 'a_document_larger_than_the_context_is_shortened_and_says_so', function()
  h.use_fake('fake/echo')
  local lines = {}
  for i = 1, 1200 do
    lines[i] = i % 100 == 1 and ('# Part ' .. i) or ('Sentence number ' .. i .. ' of a long document about notes.')
  end
  local doc = h.document(lines)
  require('ami').setup({ model = 'fake/small-context', providers = { openrouter = { base_url = h.fake().base() } } })
  vim.cmd('600,601Critique')
  h.wait_answer(doc, 15000)
  h.contains(sidebar_text(doc), "larger than the model's context (2000 tokens)")
  local user = last_user_message(h.chats()[1])
  h.contains(user, 'Sentence number 600 of')
  h.contains(user, '# Part 1101')
  h.ok(not user:find('Sentence number 2 of', 1, true), 'far text dropped')
end }

T[#T + 1] = { 'model_switch_and_completion_from_the_model_list', function()
  h.use_fake('fake/hello')
  local ids = require('ami.commands').complete_model('fake/')
  h.ok(vim.tbl_contains(ids, 'fake/echo') and vim.tbl_contains(ids, 'fake/priced'), vim.inspect(ids))
  h.ok(vim.tbl_contains(require('ami.commands').complete_model('sonnet'), 'anthropic/claude-sonnet-4'), 'substring match')
  vim.cmd('AmiModel fake/echo')
  h.eq('fake/echo', require('ami.config').get().model)
  local doc = h.document({ 'hi' })
  vim.cmd('1Critique')
  h.wait_answer(doc)
  h.eq('fake/echo', h.chats()[#h.chats()].body.model)
end }

return T
