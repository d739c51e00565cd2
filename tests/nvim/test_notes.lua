-- Margin notes: a critique's remarks on the writer's words, while the answer streams, through
-- edits, dismissed, replied to, and back after reopening the file.
local h = require('helpers')
local api = vim.api

local T = {}

local function note_lines()
  local f = io.open(h.root .. '/examples/sample-note.md')
  local lines = {}
  for l in f:lines() do
    table.insert(lines, l)
  end
  f:close()
  return lines
end

local function ledger(name)
  return h.tmp .. '/' .. name .. '.sqlite3'
end

local function diags(buf)
  local d = vim.diagnostic.get(buf, { namespace = api.nvim_create_namespace('ami') })
  table.sort(d, function(a, b)
    return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col)
  end)
  return d
end

local function text_at(buf, r)
  return table.concat(api.nvim_buf_get_text(buf, r[1], r[2], r[3], r[4], {}), '\n')
end

local function by_quote(buf)
  local res = {}
  for _, n in ipairs(require('ami').notes(buf)) do
    res[n.quote] = n
  end
  return res
end

local function critique_sample(model, ledger_name, extra)
  h.use_fake(model, vim.tbl_deep_extend('force', { ledger = { path = ledger(ledger_name) } }, extra or {}))
  local doc = h.document(note_lines(), ledger_name .. '.md')
  vim.cmd('21,23Critique')
  return doc
end

T[#T + 1] = { 'a_critique_lands_on_the_exact_words_as_diagnostics', function()
  local doc = critique_sample('fake/notes', 'basic')
  h.wait_answer(doc)
  local d = diags(doc)
  h.eq(4, #d, 'four notes')
  h.eq(vim.diagnostic.severity.HINT, d[1].severity)
  h.eq('ami', d[1].source)
  h.eq("clarity: À quoi renvoie « ça » ? L'outil, ou l'habitude ?", d[1].message)
  -- The first one's words are hard-wrapped over lines 21-22: the range spans both.
  h.eq(20, d[1].lnum)
  h.eq(21, d[1].end_lnum)
  local notes = by_quote(doc)
  local n = notes['ça finit par faire le travail à notre place']
  h.eq('anchored', n.state)
  h.eq('clarity', n.kind)
  h.eq('ça finit par faire le travail à notre\nplace', text_at(doc, n.range))
  h.eq('on perd quelque chose', text_at(doc, notes['on perd quelque chose'].range))
  h.eq('un peu comme avec le GPS', text_at(doc, notes['un peu comme avec le GPS'].range))
  h.ok(n.model:find('fake/notes', 1, true), 'the model that answered: ' .. tostring(n.model))
  h.ok(type(n.answered_at) == 'number', 'answered_at')
  h.ok(n.id:match('^r%-'), 'id: ' .. n.id)
  -- The footer counts them; the document was not edited.
  h.contains(h.text(require('ami.thread').get(doc, false).buf), '4 notes on the text')
  h.eq(note_lines(), api.nvim_buf_get_lines(doc, 0, -1, false))
end }

T[#T + 1] = { 'notes_appear_while_the_answer_streams', function()
  local doc = critique_sample('fake/notes?tps=25', 'stream')
  h.wait(function()
    return #diags(doc) >= 1
  end, 10000, 'the first note')
  local t = require('ami.thread').get(doc, false)
  h.eq(1, #require('ami.thread').running_ids(t), 'the answer is still streaming')
  h.wait_answer(doc, 20000)
  h.eq(4, #diags(doc))
end }

T[#T + 1] = { 'notes_land_on_the_right_words_after_edits_made_while_streaming', function()
  local doc = critique_sample('fake/notes?tps=40', 'edit')
  -- Before any note arrives: lines added above the passage, and a word changed inside it.
  api.nvim_buf_set_lines(doc, 0, 0, false, { 'Ajouté en haut.', 'Et encore.' })
  local row = 25 -- line 23 of the sample, two lines down
  local line = api.nvim_buf_get_lines(doc, row - 1, row, false)[1]
  local s = line:find('enfin du moins', 1, true)
  api.nvim_buf_set_text(doc, row - 1, s - 1, row - 1, s - 1 + #'enfin', { 'mais' })
  h.wait_answer(doc, 20000)
  local notes = by_quote(doc)
  local gps = notes['un peu comme avec le GPS']
  h.eq('anchored', gps.state)
  h.eq(23, gps.range[1], 'moved two lines down')
  h.eq('un peu comme avec le GPS', text_at(doc, gps.range))
  local wrapped = notes['ça finit par faire le travail à notre place']
  h.eq('ça finit par faire le travail à notre\nplace', text_at(doc, wrapped.range))
  -- The words edited before the note arrived: stale, still on what is left of them.
  local edited = notes["enfin du moins c'est ce que je ressens"]
  h.eq('stale', edited.state)
  h.contains(text_at(doc, edited.range), "du moins c'est ce que je ressens")
end }

T[#T + 1] = { 'editing_the_words_makes_a_note_stale_and_deleting_them_unanchored', function()
  local doc = critique_sample('fake/notes', 'stale')
  h.wait_answer(doc)
  local gps = by_quote(doc)['un peu comme avec le GPS']
  -- Typing before the words moves the note, it does not touch it.
  api.nvim_buf_set_text(doc, gps.range[1], 0, gps.range[1], 0, { 'Hé, ' })
  h.wait(function()
    return by_quote(doc)['un peu comme avec le GPS'].range[2] == gps.range[2] + #'Hé, '
  end, 2000, 'the note to move')
  h.eq('anchored', by_quote(doc)['un peu comme avec le GPS'].state)
  -- Typing inside the words: stale (the diagnostic says so).
  local r = by_quote(doc)['un peu comme avec le GPS'].range
  api.nvim_buf_set_text(doc, r[1], r[2] + 6, r[1], r[2] + 6, { 'x' })
  h.wait(function()
    return by_quote(doc)['un peu comme avec le GPS'].state == 'stale'
  end, 2000, 'stale')
  h.wait(function()
    for _, d in ipairs(diags(doc)) do
      if d.message:find('^%(stale%) question:') then
        return true
      end
    end
  end, 2000, 'a stale diagnostic')
  -- An undo brings the words back.
  vim.cmd('undo')
  h.wait(function()
    return by_quote(doc)['un peu comme avec le GPS'].state == 'anchored'
  end, 2000, 'anchored again')
  -- Deleting the words: unanchored, no range, no diagnostic.
  local r2 = by_quote(doc)['on perd quelque chose'].range
  api.nvim_buf_set_text(doc, r2[1], r2[2], r2[3], r2[4], { '' })
  h.wait(function()
    return by_quote(doc)['on perd quelque chose'].state == 'unanchored'
  end, 2000, 'unanchored')
  h.eq(nil, by_quote(doc)['on perd quelque chose'].range)
  h.eq(3, #diags(doc))
end }

T[#T + 1] = { 'every_deviation_a_model_makes_is_read', function()
  local doc = critique_sample('fake/notes?set=deviations', 'deviations')
  h.wait_answer(doc)
  local notes = by_quote(doc)
  h.eq('anchored', notes['ça finit par faire le travail'].state, 'numbered heading, guillemets')
  h.eq('question', notes["quand on laisse faire l'outil"].kind, 'bold heading, two > lines')
  h.eq('style', notes['la pensée elle-même'].kind, 'Remarque with an NBSP, typographic quotes')
  h.eq(nil, notes['c\'est plus grave parce que c\'est la pensée'].kind, 'no kind')
  h.eq('anchored', notes['c\'est plus grave parce que c\'est la pensée'].state)
  h.eq('unanchored', notes["ce mot n'existe nulle part dans la note"].state, 'an invented quote')
  h.eq(nil, notes["ce mot n'existe nulle part dans la note"].range)
  h.eq('GPS', text_at(doc, notes['GPS'].range), 'a short quote, unique in the passage')
  h.eq('écrire à ma place', text_at(doc, notes['écrire à ma place'].range), 'emphasis stripped')
  h.eq(nil, notes['pas une note (dans un bloc de code)'], 'a "note" inside a code fence is text')
  local n = 0
  for _ in pairs(notes) do
    n = n + 1
  end
  h.eq(7, n, 'seven notes with words; the one without words is a general remark')
  h.contains(h.text(require('ami.thread').get(doc, false).buf), '6 notes on the text, 1 not found')
end }

T[#T + 1] = { 'the_location_list_float_and_dismissing', function()
  local doc = critique_sample('fake/notes?set=deviations', 'loclist')
  h.wait_answer(doc)
  vim.cmd('AmiNotes')
  local ll = vim.fn.getloclist(vim.fn.win_getid(vim.fn.winnr('#')))
  if #ll == 0 then
    ll = vim.fn.getloclist(0)
  end
  h.eq(7, #ll, 'every live note')
  h.eq(5, ll[1].lnum, 'in document order (the praise is on line 5)')
  h.eq(21, ll[2].lnum)
  h.contains(ll[#ll].text, '(not found: « ce mot n\'existe nulle part dans la note »)')
  h.eq(0, ll[#ll].lnum, 'an unanchored note has no place')
  vim.cmd('lclose')
  api.nvim_set_current_buf(doc)
  local gps = by_quote(doc)['GPS']
  api.nvim_win_set_cursor(0, { gps.range[1] + 1, gps.range[2] + 1 })
  vim.cmd('AmiNote')
  local float
  for _, w in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_config(w).relative ~= '' then
      float = w
    end
  end
  h.ok(float, 'a float opened')
  local ftext = h.text(api.nvim_win_get_buf(float))
  h.contains(ftext, '> GPS')
  h.contains(ftext, 'Le mot GPS apparaît une fois.')
  api.nvim_win_close(float, true)
  vim.cmd('AmiDismiss')
  h.eq('dismissed', by_quote(doc)['GPS'].state)
  h.eq(nil, by_quote(doc)['GPS'].range)
  h.eq(5, #diags(doc))
  vim.cmd('AmiDismiss!')
  h.eq(0, #diags(doc))
  for _, n in ipairs(require('ami').notes(doc)) do
    h.eq('dismissed', n.state)
  end
end }

T[#T + 1] = { 'dismissed_notes_go_with_the_next_critique', function()
  local doc = critique_sample('fake/notes', 'dismissed')
  h.wait_answer(doc)
  local gps = by_quote(doc)['un peu comme avec le GPS']
  api.nvim_win_set_cursor(0, { gps.range[1] + 1, gps.range[2] })
  vim.cmd('AmiDismiss')
  vim.cmd('21,23Critique')
  h.wait(function()
    return #h.chats() == 2
  end, 5000, 'the second critique')
  h.wait_answer(doc)
  local user = h.chats()[2].body.messages
  user = user[#user].content
  h.contains(user, 'I have already seen and set aside these remarks')
  h.contains(user, '(question) on "un peu comme avec le GPS": Que perd-on avec le GPS ?')
  h.ok(not user:find('on perd quelque chose": ', 1, true), 'only the dismissed ones')
  -- A later critique adds its notes; the earlier ones stay.
  local n = 0
  for _, note in ipairs(require('ami').notes(doc)) do
    n = n + (note.state ~= 'dismissed' and 1 or 0)
  end
  h.eq(7, n, 'three earlier notes kept beside the four new ones')
end }

T[#T + 1] = { 'reply_asks_about_the_note_under_the_cursor', function()
  local doc = critique_sample('fake/notes', 'reply')
  h.wait_answer(doc)
  local n = by_quote(doc)['on perd quelque chose']
  api.nvim_win_set_cursor(0, { n.range[1] + 1, n.range[2] + 2 })
  vim.cmd('AmiReply Tu penses à quoi, toi ?')
  h.wait(function()
    return #h.chats() == 2
  end, 5000, 'the reply')
  h.wait_answer(doc)
  local msgs = h.chats()[2].body.messages
  local user = msgs[#msgs].content
  h.contains(user, 'About your remark (ambiguity) on these words of my document:\n> on perd quelque chose')
  h.contains(user, 'You wrote: Quoi, exactement ? Un savoir-faire, ta voix ?')
  h.contains(user, 'My question: Tu penses à quoi, toi ?')
  h.contains(user, '<context>')
  h.contains(h.text(require('ami.thread').get(doc, false).buf), '## Reply · note ambiguity « on perd quelque chose »')
end }

T[#T + 1] = { 'notes_come_back_when_the_file_is_reopened_with_their_states', function()
  local doc = critique_sample('fake/notes', 'reopen')
  h.wait_answer(doc)
  local path = api.nvim_buf_get_name(doc)
  local gps = by_quote(doc)['un peu comme avec le GPS']
  api.nvim_win_set_cursor(0, { gps.range[1] + 1, gps.range[2] })
  vim.cmd('AmiDismiss')
  -- The writer edits a noted word and adds a line on top, then saves and quits.
  local r = by_quote(doc)["enfin du moins c'est ce que je ressens"].range
  api.nvim_buf_set_text(doc, r[1], r[2], r[1], r[2] + #'enfin', { 'mais' })
  api.nvim_buf_set_lines(doc, 0, 0, false, { 'Une ligne de plus.' })
  vim.cmd('silent write')
  h.wait(function()
    return by_quote(doc)["enfin du moins c'est ce que je ressens"].state == 'stale'
  end, 2000, 'stale')
  local index = require('ami.notes_index').path()
  h.wait(function()
    local f = io.open(index)
    local s = f and f:read('*a') or ''
    if f then
      f:close()
    end
    return s:find(path, 1, true) ~= nil
  end, 5000, 'the index to list the file')
  require('ami.host').stop() -- the ledger is flushed
  -- A new Neovim, days later, opens the file.
  local c = h.child()
  c.lua([[require('ami').setup(...)]], {
    model = 'fake/hello',
    providers = { openrouter = { base_url = h.fake().base('openrouter') } },
    ledger = { path = ledger('reopen') },
  })
  c.lua(([[vim.cmd('edit ' .. %q)]]):format(path))
  local notes
  h.wait(function()
    notes = c.lua([[return require('ami').notes(0)]])
    return #notes == 4 and notes[1].comment ~= ''
  end, 10000, 'the notes in the new Neovim')
  local by = {}
  for _, n in ipairs(notes) do
    by[n.quote] = n
  end
  h.eq('anchored', by['on perd quelque chose'].state)
  h.eq(22, by['on perd quelque chose'].range[1], 'found again one line down')
  h.eq('on perd quelque chose', c.lua([[return table.concat(vim.api.nvim_buf_get_text(0, ...), '\n')]],
    by['on perd quelque chose'].range[1], by['on perd quelque chose'].range[2],
    by['on perd quelque chose'].range[3], by['on perd quelque chose'].range[4], {}))
  h.eq('dismissed', by['un peu comme avec le GPS'].state)
  h.eq('stale', by["enfin du moins c'est ce que je ressens"].state)
  h.eq(3, c.lua([[return #vim.diagnostic.get(0, { namespace = vim.api.nvim_create_namespace('ami') })]]))
  c.stop()
end }

T[#T + 1] = { 'a_thousand_notes_stop_at_a_clear_cap', function()
  local doc = critique_sample('fake/notes?set=many&n=1000', 'many')
  h.wait_answer(doc, 20000)
  h.eq(200, #require('ami').notes(doc))
  h.eq(200, #diags(doc))
  h.ok(#h.notes_matching('more than 200 notes') == 1, 'told once')
end }

T[#T + 1] = { 'notes_can_be_turned_off', function()
  local doc = critique_sample('fake/notes', 'off', { notes = { enabled = false } })
  h.wait_answer(doc)
  h.eq(0, #require('ami').notes(doc))
  h.eq(0, #diags(doc))
  local sys = h.chats()[1].body.messages[1].content
  h.ok(not sys:find('## Note: <kind>', 1, true), 'the prompt does not ask for notes')
end }

return T
