-- The conversation as users of chat plugins expect it: typing follow-ups in the thread with
-- history and a queue, the model picker with prices, question presets, exploring an idea, and
-- yesterday's thread back after a restart.
local h = require('helpers')
local api = vim.api

local T = {}

-- Typed keys, remapped, executed now (insert mode ends with them, as 'x' does).
local function keys(s)
  api.nvim_feedkeys(api.nvim_replace_termcodes(s, true, false, true), 'mx', false)
end

local function last_user(req)
  local m = req.body.messages
  return m[#m].content
end

local function ledger(name)
  return h.tmp .. '/' .. name .. '.sqlite3'
end

local function thread_of(doc)
  return require('ami.thread').get(doc, false)
end

local function first_answer(doc)
  vim.cmd('1Critique')
  return h.wait_answer(doc)
end

T[#T + 1] = { 'typing_a_follow_up_in_the_thread', function()
  h.use_fake('fake/hello')
  local doc = h.document({ 'Une phrase.' })
  local t = first_answer(doc)
  local docwin = api.nvim_get_current_win()
  h.eq(doc, api.nvim_get_current_buf(), 'the answer never took the focus')
  -- In the thread window, `i` opens the input and only then takes the focus.
  local side = vim.fn.bufwinid(t.buf)
  api.nvim_set_current_win(side)
  keys('i')
  local inp = require('ami.input').get(t)
  h.ok(inp and api.nvim_win_is_valid(inp.win), 'the input opened')
  h.eq(inp.win, api.nvim_get_current_win())
  h.eq('markdown', vim.bo[inp.buf].filetype)
  api.nvim_buf_set_lines(inp.buf, 0, -1, false, { 'Et la deuxième', 'phrase ?' })
  keys('A<C-s>') -- <C-s> sends from insert mode
  h.eq(nil, require('ami.input').get(t), 'sending closes the input')
  h.eq(side, api.nvim_get_current_win(), 'back where the writer was')
  h.wait(function()
    return #h.chats() == 2
  end, 5000, 'the follow-up')
  h.wait_answer(doc)
  local msgs = h.chats()[2].body.messages
  h.eq('Et la deuxième\nphrase ?', msgs[#msgs].content)
  h.eq('assistant', msgs[#msgs - 1].role, 'the earlier turn goes back')
  h.contains(h.text(t.buf), '## Follow-up')
  h.ok(api.nvim_win_is_valid(docwin))
end }

T[#T + 1] = { 'the_input_walks_the_earlier_questions_and_keeps_a_draft', function()
  h.use_fake('fake/hello')
  local doc = h.document({ 'Texte.' })
  local t = first_answer(doc)
  for _, q in ipairs({ 'Première question ?', 'Deuxième question ?' }) do
    require('ami.thread').follow_up(t, q)
    h.wait_answer(doc)
    h.wait(function()
      return #require('ami.thread').running_ids(t) == 0
    end)
  end
  vim.cmd('AmiAsk')
  local inp = require('ami.input').get(t)
  h.ok(inp, ':AmiAsk without a question opens the input')
  api.nvim_buf_set_lines(inp.buf, 0, -1, false, { 'brouillon' })
  keys('<Esc>')
  keys('<Up>')
  h.eq({ 'Deuxième question ?' }, api.nvim_buf_get_lines(inp.buf, 0, -1, false))
  keys('<C-p>')
  h.eq({ 'Première question ?' }, api.nvim_buf_get_lines(inp.buf, 0, -1, false))
  keys('<Down><Down>')
  h.eq({ 'brouillon' }, api.nvim_buf_get_lines(inp.buf, 0, -1, false), 'back to the draft')
  keys('q')
  h.eq(nil, require('ami.input').get(t))
  h.eq(3, #h.chats(), 'closing sends nothing')
  vim.cmd('AmiAsk')
  inp = require('ami.input').get(t)
  h.eq({ 'brouillon' }, api.nvim_buf_get_lines(inp.buf, 0, -1, false), 'the draft is kept')
  keys('q')
end }

T[#T + 1] = { 'a_question_sent_while_an_answer_streams_is_queued', function()
  h.use_fake('fake/essay?n=120&tps=100')
  local doc = h.document({ 'Texte.' })
  vim.cmd('1Critique')
  local t = thread_of(doc)
  h.wait(function()
    return #require('ami.thread').running_ids(t) == 1 and #h.chats() == 1
  end)
  local r = require('ami.thread').follow_up(t, 'Et après ?')
  h.eq(true, r.queued)
  h.contains(h.text(t.buf), '(queued: “Et après ?” goes as soon as the answer above ends)')
  h.eq(1, #h.chats(), 'not sent yet')
  h.wait(function()
    return #h.chats() == 2
  end, 10000, 'the queued question to go')
  h.eq('Et après ?', last_user(h.chats()[2]))
  h.wait(function()
    return #require('ami.thread').running_ids(t) == 0 and #t.finished == 2
  end, 10000)
end }

T[#T + 1] = { 'thread_keys_are_configurable', function()
  h.use_fake('fake/hello', { keys = { open = { 'o' }, send_insert = '<C-j>', close = false } })
  local doc = h.document({ 'Texte.' })
  local t = first_answer(doc)
  api.nvim_set_current_win(vim.fn.bufwinid(t.buf))
  keys('i')
  h.eq(nil, require('ami.input').get(t), '`i` was taken away')
  keys('o')
  local inp = require('ami.input').get(t)
  h.ok(inp, '`o` opens it')
  h.eq('', vim.fn.maparg('q', 'n', false, false), 'q is not mapped')
  api.nvim_buf_set_lines(inp.buf, 0, -1, false, { 'Vraiment ?' })
  keys('i<C-j>')
  h.wait(function()
    return #h.chats() == 2
  end, 5000)
  h.eq('Vraiment ?', last_user(h.chats()[2]))
end }

-- ---- the model picker -------------------------------------------------------------------------

local function stub_select(choose)
  local seen = {}
  local real = vim.ui.select
  vim.ui.select = function(items, opts, cb)
    seen.items, seen.opts = items, opts
    seen.lines = {}
    for _, it in ipairs(items) do
      table.insert(seen.lines, opts.format_item(it))
    end
    cb(choose and choose(items) or nil)
  end
  return seen, function()
    vim.ui.select = real
  end
end

T[#T + 1] = { 'the_model_picker_shows_prices_used_models_first_and_remembers', function()
  h.use_fake('fake/hello', { ledger = { path = ledger('picker') } })
  -- The writer used fake/priced before.
  local doc = h.document({ 'Texte.' })
  vim.cmd('AmiModel fake/priced')
  first_answer(doc)
  require('ami.picker').choose('fake/hello')
  local seen, restore = stub_select(function(items)
    for _, it in ipairs(items) do
      if it.id == 'anthropic/claude-sonnet-4' then
        return it
      end
    end
  end)
  vim.cmd('AmiModel')
  h.wait(function()
    return seen.items ~= nil
  end, 5000, 'the picker')
  restore()
  h.eq('fake/priced', seen.items[1].id, 'the used model first')
  h.ok(seen.lines[1]:find('$3 / $15', 1, true) and seen.lines[1]:find('used 1×', 1, true), seen.lines[1])
  local rest = {}
  for i = 2, #seen.items do
    table.insert(rest, seen.items[i].id)
  end
  local sorted = vim.deepcopy(rest)
  table.sort(sorted)
  h.eq(sorted, rest, 'then the rest by name')
  for i, it in ipairs(seen.items) do
    if it.id == 'fake/free' then
      h.ok(seen.lines[i]:find('free', 1, true), seen.lines[i])
    end
    if it.id == 'fake/small-context' then
      h.ok(seen.lines[i]:find('2k ctx', 1, true), seen.lines[i])
    end
  end
  h.eq('ami.model', seen.opts.kind)
  h.eq('anthropic/claude-sonnet-4', require('ami.config').get().model, 'switched')
  -- Remembered for the next session (a state file, not the config) ...
  local st = vim.fn.json_decode(table.concat(vim.fn.readfile(require('ami.state').path()), '\n'))
  h.eq('anthropic/claude-sonnet-4', st.model)
  require('ami.state').reset()
  assert(require('ami').setup({ model = 'fake/hello', providers = { openrouter = { base_url = h.fake().base() } } }))
  h.eq('anthropic/claude-sonnet-4', require('ami.config').get().model, 'the choice survives setup()')
  -- ... until the config names another model.
  assert(require('ami').setup({ model = 'fake/echo', providers = { openrouter = { base_url = h.fake().base() } } }))
  h.eq('fake/echo', require('ami.config').get().model, 'a changed config wins')
end }

-- ---- presets and exploring ----------------------------------------------------------------------

T[#T + 1] = { 'question_presets_and_their_completion', function()
  h.use_fake('fake/hello', { questions = { titre = 'Le titre dit-il ce que fait le texte ?' } })
  local doc = h.document({ 'Un paragraphe.' })
  vim.cmd('1Critique clarity')
  h.wait_answer(doc)
  h.contains(last_user(h.chats()[1]), 'My question: Is this passage clear and explicit? What could a reader misunderstand? Point at the specific words.')
  vim.cmd('1Critique titre Et le sous-titre ?')
  h.wait(function()
    return #h.chats() == 2
  end)
  h.contains(last_user(h.chats()[2]), 'My question: Le titre dit-il ce que fait le texte ? Et le sous-titre ?')
  h.wait_answer(doc)
  vim.cmd('1Critique Est-ce drôle ?')
  h.wait(function()
    return #h.chats() == 3
  end)
  h.contains(last_user(h.chats()[3]), 'My question: Est-ce drôle ?')
  local names = vim.fn.getcompletion('Critique ', 'cmdline')
  h.eq({ 'argument', 'clarity', 'concision', 'reader', 'titre', 'tone' }, names)
  h.eq({ 'clarity', 'concision' }, vim.fn.getcompletion('Critique c', 'cmdline'))
  -- The stance stays in the system prompt whatever the preset says.
  h.contains(h.chats()[2].body.messages[1].content, 'Never rewrite the passage')
end }

T[#T + 1] = { 'exploring_an_idea', function()
  h.use_fake('fake/hello')
  local doc = h.document({ 'Titre', '', 'La sérendipité dirigée : demander à un ami ce que', 'mon idée lui évoque.', '', 'Fin.' })
  api.nvim_win_set_cursor(0, { 3, 0 })
  vim.cmd('AmiExplore')
  h.wait_answer(doc)
  local body = h.chats()[1].body
  h.contains(body.messages[1].content, 'never invent a title, a quotation, a date or a reference')
  h.contains(body.messages[1].content, 'say plainly when you are unsure')
  h.contains(last_user(h.chats()[1]), '<idea>\nLa sérendipité dirigée : demander à un ami ce que\nmon idée lui évoque.\n</idea>')
  h.contains(last_user(h.chats()[1]), 'My question: Does this idea make sense to you? What does it evoke')
  h.contains(h.text(thread_of(doc).buf), '## Explore · ')
  vim.cmd('1AmiExplore Qui en a parlé ?')
  h.wait(function()
    return #h.chats() == 2
  end)
  h.contains(last_user(h.chats()[2]), '<idea>\nTitre\n</idea>\n\nMy question: Qui en a parlé ?')
end }

-- ---- coming back tomorrow ------------------------------------------------------------------------

T[#T + 1] = { 'yesterdays_thread_comes_back_after_a_restart', function()
  local path = ledger('restore')
  h.use_fake('fake/hello', { ledger = { path = path } })
  local doc = h.document({ 'Une note.', '', 'Un paragraphe à relire.' }, 'restore.md')
  vim.cmd('3Critique Est-ce clair ?')
  h.wait_answer(doc)
  vim.cmd('AmiAsk Et la ponctuation ?')
  h.wait(function()
    return #h.chats() == 2
  end)
  h.wait_answer(doc)
  h.wait(function()
    return #require('ami.thread').running_ids(thread_of(doc)) == 0
  end)
  local file = api.nvim_buf_get_name(doc)
  require('ami.host').stop()
  -- A new Neovim on the same ledger, the next day.
  local c = h.child()
  c.lua([[require('ami').setup(...)]], { model = 'fake/echo?size=100000',
    providers = { openrouter = { base_url = h.fake().base() } }, ledger = { path = path } })
  c.lua([[vim.env.OPENROUTER_API_KEY = 'sk-or-test-key-0123456789']])
  c.lua(([[vim.cmd('edit ' .. %q)]]):format(file))
  c.lua([[vim.cmd('AmiThread')]])
  local text
  h.wait(function()
    text = c.lua([[
      local t = require('ami.thread').get(0, false)
      return t and not t.restoring and table.concat(vim.api.nvim_buf_get_lines(t.buf, 0, -1, false), '\n') or ''
    ]])
    return text:find('from the ledger', 1, true) ~= nil
  end, 10000, 'the earlier turns')
  h.contains(text, '## Critique · ')
  h.contains(text, '> Est-ce clair ?')
  h.contains(text, 'Hello, world! Ça va ? 👋')
  h.contains(text, '## Follow-up')
  h.contains(text, '> Et la ponctuation ?')
  -- :AmiSent on a restored answer shows what it sent, from the ledger.
  c.lua([[
    local t = require('ami.thread').get(0, false)
    vim.api.nvim_set_current_win(vim.fn.bufwinid(t.buf))
    local first = t.restored[1]
    local s = require('ami.sidebar').body_range(first.region)
    vim.api.nvim_win_set_cursor(0, { s, 0 })
    vim.cmd('AmiSent')
  ]])
  h.wait(function()
    return c.lua([[
      local b = vim.fn.bufnr('ami://sent')
      return b > 0 and table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\n') or ''
    ]]):find('Un paragraphe à relire.', 1, true) ~= nil
  end, 10000, 'what the first restored turn sent')
  c.lua(([[vim.cmd('close'); vim.api.nvim_set_current_win(vim.fn.bufwinid(%q))]]):format(file))
  h.eq(doc ~= nil, true)
  h.eq(c.lua([[return vim.api.nvim_get_current_buf()]]) ~= nil, true)
  -- A follow-up carries the earlier turns to the model.
  local before = #h.chats()
  c.lua([[vim.cmd('AmiAsk Et maintenant ?')]])
  h.wait(function()
    return #h.chats() == before + 1
  end, 10000, 'the follow-up from the new Neovim')
  local msgs = h.chats()[#h.chats()].body.messages
  h.eq(6, #msgs, 'system, then two earlier turns (question, answer), then the new question')
  h.contains(msgs[2].content, 'My question: Est-ce clair ?')
  h.eq('Hello, world! Ça va ? 👋', msgs[3].content)
  h.eq('Et la ponctuation ?', msgs[4].content)
  h.eq('Et maintenant ?', msgs[6].content)
  c.stop()
end }

T[#T + 1] = { 'a_restored_thread_says_when_its_texts_were_not_kept', function()
  local path = ledger('notext')
  h.use_fake('fake/hello', { ledger = { path = path, store_text = false } })
  local doc = h.document({ 'Texte.' }, 'notext.md')
  first_answer(doc)
  local file = api.nvim_buf_get_name(doc)
  require('ami.host').stop()
  local c = h.child()
  c.lua([[require('ami').setup(...)]], { model = 'fake/hello',
    providers = { openrouter = { base_url = h.fake().base() } }, ledger = { path = path, store_text = false } })
  c.lua(([[vim.cmd('edit ' .. %q)]]):format(file))
  c.lua([[vim.cmd('AmiThread')]])
  local text
  h.wait(function()
    text = c.lua([[
      local t = require('ami.thread').get(0, false)
      return t and not t.restoring and table.concat(vim.api.nvim_buf_get_lines(t.buf, 0, -1, false), '\n') or ''
    ]])
    return text:find('from the ledger', 1, true) ~= nil
  end, 10000, 'the earlier turn')
  h.contains(text, 'the text of this answer was not kept: ledger.store_text = false')
  c.stop()
end }

return T
