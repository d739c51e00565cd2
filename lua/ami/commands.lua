-- ami.commands: what the user commands do.  plugin/ami.lua maps each command here.
local M = {}

local api = vim.api

local function notify(msg, level)
  vim.notify(msg, level or vim.log.levels.INFO)
end

local function err(msg)
  notify('ami: ' .. msg, vim.log.levels.ERROR)
end

local function thread_mod()
  local t = require('ami.thread')
  t.register()
  return t
end

--- The document buffer a command applies to: the current buffer, or the document behind the
--- current thread buffer.
local function document_buffer()
  local buf = api.nvim_get_current_buf()
  local thread = require('ami.thread').get(buf, false)
  if thread and thread.buf == buf then
    return thread.doc, thread
  end
  return buf, nil
end

local function buffer_text(buf)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  local text = table.concat(lines, '\n')
  if #lines > 0 and not (#lines == 1 and lines[1] == '') then
    text = text .. '\n'
  else
    text = ''
  end
  return text
end

-- The paragraph (lines between blank lines) around line lnum.
local function paragraph(buf, lnum)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  local s, e = lnum, lnum
  while s > 1 and lines[s - 1] and lines[s - 1]:match('%S') do
    s = s - 1
  end
  while e < #lines and lines[e + 1] and lines[e + 1]:match('%S') do
    e = e + 1
  end
  return s, e, lines
end

--- :[range]Critique [question]
function M.critique(o)
  local buf = document_buffer()
  if vim.bo[buf].buftype ~= '' and vim.bo[buf].buftype ~= 'acwrite' then
    return err('Critique works on a document buffer')
  end
  local first, last
  if o.range > 0 then
    first, last = o.line1, o.line2
  else
    -- No range: the paragraph under the cursor.
    first, last = paragraph(buf, api.nvim_win_get_cursor(0)[1])
  end
  local count = api.nvim_buf_line_count(buf)
  last = math.min(last, count)
  first = math.max(1, math.min(first, last))
  local document = buffer_text(buf)
  if document == '' then
    return err('the buffer is empty: there is nothing to critique')
  end
  local t = thread_mod().get(buf, true)
  local question, preset = M.preset_question(o.args)
  local turn = {
    kind = 'critique',
    document = document,
    path = t.name,
    line_start = first,
    line_end = last,
    question = question,
    preset = preset,
  }
  if o.bang then -- two models at once, side by side (ami-arena)
    return require('ami.compare').start(t, turn)
  end
  return require('ami.thread').ask(t, turn)
end

--- :[range]AmiCompare [question]: :Critique! under its own name.
function M.compare(o)
  o.bang = true
  return M.critique(o)
end

--- :AmiVote a|b|tie|bad
function M.vote(o)
  local result = vim.trim(o.args or '')
  local valid = { a = true, b = true, tie = true, bad = true }
  if not valid[result] then
    return err('AmiVote takes a, b, tie (both good) or bad (both bad)')
  end
  local c = require('ami.compare')
  return c.vote(c.current(), result)
end

--- :AmiArena
function M.arena()
  return require('ami.compare').arena()
end

--- The question of ":Critique ARGS": a preset's question when ARGS starts with a preset
--- name (the rest, if any, follows it), else ARGS itself; nil for the default question.
--- Returns the question and the preset's name.
function M.preset_question(args)
  local text = vim.trim(args or '')
  if text == '' then
    return nil
  end
  local word, rest = text:match('^(%S+)%s*(.*)$')
  local q = require('ami.config').get().questions[word]
  if type(q) == 'string' then
    return rest ~= '' and (q .. ' ' .. rest) or q, word
  end
  return text
end

--- Completion for :Critique: the preset names.
function M.complete_critique(arglead, cmdline)
  local before = cmdline:gsub('^%S*Critique!?%s*', '')
  if before:find('%s') then
    return {} -- only the first word is a preset
  end
  local res = {}
  for name in pairs(require('ami.config').get().questions) do
    if name:find(arglead, 1, true) == 1 then
      table.insert(res, name)
    end
  end
  table.sort(res)
  return res
end

-- The lines of o's range, or the paragraph under the cursor.
local function passage(o, buf)
  if o.range > 0 then
    local count = api.nvim_buf_line_count(buf)
    local last = math.min(o.line2, count)
    return math.max(1, math.min(o.line1, last)), last
  end
  local s, e = paragraph(buf, api.nvim_win_get_cursor(0)[1])
  return s, e
end

--- :[range]AmiExplore [question]
function M.explore(o)
  local buf = document_buffer()
  local first, last = passage(o, buf)
  local lines = api.nvim_buf_get_lines(buf, first - 1, last, false)
  local idea = table.concat(lines, '\n')
  if vim.trim(idea) == '' then
    return err('AmiExplore: select the idea, or put the cursor in its paragraph')
  end
  local t = thread_mod().get(buf, true)
  local question = vim.trim(o.args or '')
  return require('ami.thread').ask(t, {
    kind = 'explore',
    document = idea .. '\n',
    path = t.name,
    line_start = first,
    line_end = last,
    question = question ~= '' and question or nil,
  })
end

--- :AmiThread: the document's thread in the sidebar (yesterday's too), without the focus.
function M.thread()
  local buf = document_buffer()
  local t = thread_mod().get(buf, true)
  require('ami.sidebar').show(t.buf)
end

-- The name to explain when none is given: the visual selection, else the word under the
-- cursor, keeping dots and dashes that belong to names (avante.nvim, llama.cpp).
local function name_under_cursor(o)
  if o.range > 0 and o.line1 == o.line2 then
    local s = vim.fn.getpos("'<")
    local e = vim.fn.getpos("'>")
    if s[2] == o.line1 and e[2] == o.line1 and e[3] >= s[3] then
      local line = api.nvim_buf_get_lines(0, o.line1 - 1, o.line1, false)[1] or ''
      local text = line:sub(s[3], math.min(e[3], #line))
      if vim.trim(text) ~= '' then
        return vim.trim(text)
      end
    end
  end
  local word = vim.fn.expand('<cWORD>')
  word = word:gsub('^[%(%[{"\'“«`*_]+', ''):gsub('[%)%]}"\'”»`*_,;:!?%.]+$', '')
  if word == '' then
    word = vim.fn.expand('<cword>')
  end
  return word
end

--- :Explain [name]
function M.explain(o)
  local buf = document_buffer()
  local name = vim.trim(o.args or '')
  if name == '' then
    name = name_under_cursor(o)
  end
  if name == '' then
    return err('Explain: no name given and no word under the cursor')
  end
  local lnum = api.nvim_win_get_cursor(0)[1]
  local s, e, lines = paragraph(buf, lnum)
  local context = table.concat(vim.list_slice(lines, s, e), '\n')
  local t = thread_mod().get(buf, true)
  local turn = {
    kind = 'explain',
    name = name,
    document = context ~= '' and context or nil,
    path = t.name,
  }
  if o.bang then
    return require('ami.compare').start(t, turn)
  end
  return require('ami.thread').ask(t, turn)
end

--- :AmiAsk [question]: without a question, the input area opens (the writer asked for it).
function M.ask(o)
  local question = vim.trim(o.args or '')
  local buf = document_buffer()
  local tm = thread_mod()
  local t = tm.get(buf, true)
  if question == '' then
    return require('ami.input').open(t)
  end
  if #tm.running_ids(t) > 0 then
    return tm.follow_up(t, question) -- queued after the running answer
  end
  local turn = { kind = 'ask', question = question, followup = #t.turns > 0 }
  if #t.turns == 0 then
    -- No thread yet: the question is about this document, which goes along as context.
    local doc = buffer_text(buf)
    turn.document = doc ~= '' and doc or nil
    turn.path = t.name
  end
  return tm.ask(t, turn)
end

--- :AmiStop
function M.stop()
  local buf = document_buffer()
  local tm = require('ami.thread')
  local t = tm.get(buf, false)
  local ids = t and tm.running_ids(t) or {}
  if #ids == 0 then
    return notify('ami: nothing is running for this document')
  end
  local n, e = require('ami.host').request('cancel', ids)
  if not n then
    return err(e)
  end
end

--- :AmiModel [id]: without an id, the picker (vim.ui.select) with prices.
function M.model(o)
  local id = vim.trim(o.args or '')
  if id == '' then
    return require('ami.picker').open()
  end
  require('ami.picker').choose(id)
end

--- Completion for :AmiModel: the provider's model list (cached by the engine).
function M.complete_model(arglead)
  local ids = require('ami.models').ids()
  local res = {}
  for _, id in ipairs(ids) do
    if id:find(arglead, 1, true) == 1 then
      table.insert(res, id)
    end
  end
  if #res == 0 and arglead ~= '' then
    -- Also match anywhere: typing "sonnet" finds "anthropic/claude-sonnet-4".
    for _, id in ipairs(ids) do
      if id:find(arglead, 1, true) then
        table.insert(res, id)
      end
    end
  end
  return res
end

--- :[range]AmiQuote
function M.quote(o)
  return require('ami.quote').quote(o)
end

--- :AmiUsage
function M.usage()
  return require('ami.usage').open()
end

-- ---- margin notes ------------------------------------------------------------------------------

-- The document and the note under the cursor of its window, or nil and why not.
local function note_here()
  local buf, t = document_buffer()
  if t then
    return nil, buf, 'put the cursor on the noted words in the document, not in the thread'
  end
  local cur = api.nvim_win_get_cursor(0)
  local n = require('ami.notes').at_cursor(buf, cur[1] - 1, cur[2])
  if not n then
    return nil, buf, 'no note under the cursor (:AmiNotes lists them)'
  end
  return n, buf
end

--- :AmiNotes
function M.notes()
  local buf = document_buffer()
  local items = require('ami.notes').loclist_items(buf)
  if #items == 0 then
    return notify('ami: this document has no margin notes')
  end
  vim.fn.setloclist(0, {}, ' ', { title = 'ami notes: ' .. vim.fn.fnamemodify(
    api.nvim_buf_get_name(buf), ':~:.'), items = items })
  vim.cmd('lopen')
end

--- :AmiNote
function M.note()
  local n, _, why = note_here()
  if not n then
    return err(why)
  end
  local lines = {
    ('**%s** · %s · %s%s'):format(n.kind or 'note', n.model or '?', os.date('%Y-%m-%d %H:%M',
      n.answered_at or os.time()), n.state ~= 'anchored' and (' · ' .. n.state) or ''),
    '',
  }
  for _, l in ipairs(vim.split(n.quote, '\n', { plain = true })) do
    table.insert(lines, '> ' .. l)
  end
  table.insert(lines, '')
  for _, l in ipairs(vim.split(n.comment ~= '' and n.comment or '(the comment is still arriving)', '\n',
    { plain = true })) do
    table.insert(lines, l)
  end
  vim.lsp.util.open_floating_preview(lines, 'markdown', { border = 'rounded', focus_id = 'ami-note',
    max_width = math.max(40, math.floor(vim.o.columns * 0.6)) })
end

--- :AmiDismiss[!]
function M.dismiss(o)
  local notes = require('ami.notes')
  local buf = document_buffer()
  if o.bang then
    local live = notes.live(buf)
    if #live == 0 then
      return notify('ami: this document has no notes to dismiss')
    end
    notes.dismiss(buf, live)
    local name = api.nvim_buf_get_name(buf)
    if name ~= '' then
      local ok, e = require('ami.host').request('notes_dismiss_all', vim.fn.fnamemodify(name, ':p'))
      if not ok then
        return err(e)
      end
    end
    return notify(('ami: %d note%s dismissed; the next critique will not repeat them'):format(#live,
      #live == 1 and '' or 's'))
  end
  local n, _, why = note_here()
  if not n then
    return err(why)
  end
  notes.dismiss(buf, { n })
  notify('ami: note dismissed; the next critique will not repeat it')
end

--- :AmiReply {question}
function M.reply(o)
  local question = vim.trim(o.args or '')
  local n, buf, why = note_here()
  if not n then
    return err(why)
  end
  local tm = thread_mod()
  local t = tm.get(buf, true)
  local doc = buffer_text(buf)
  return tm.ask(t, {
    kind = 'ask',
    question = question,
    followup = #t.turns > 0,
    document = doc ~= '' and doc or nil,
    path = t.name,
    note = { kind = n.kind, quote = n.quote, comment = n.comment },
  })
end

--- :AmiSent: exactly what left the machine for the document's last request (or the answer
--- under the cursor in the thread): the URL, the headers (auth values redacted: the key is never
--- shown), the JSON body as sent, secrets already masked.
local sent_waiting, sent_registered = {}, false

function M.sent()
  local cur = api.nvim_get_current_buf()
  local buf, t = document_buffer()
  local thread = require('ami.thread')
  local query
  if t then
    local lnum = api.nvim_win_get_cursor(0)[1]
    local a = thread.answer_at(cur, lnum) or thread.restored_at(cur, lnum)
    if a and (a.uid or a.id) then
      query = { uid = a.uid, id = a.id }
    end
  end
  if not query then
    local name = api.nvim_buf_get_name(buf)
    query = { document = name ~= '' and vim.fn.fnamemodify(name, ':p') or nil }
    t = thread.get(buf, false)
    if not query.document then
      local last = t and t.finished and t.finished[#t.finished]
      query = { id = last and last.id or 0, uid = last and last.uid }
    end
  end
  local host = require('ami.host')
  local res, e = host.request('sent', query)
  if not res then
    return err(e)
  end
  if res == vim.NIL then
    return notify('ami: nothing was sent for this document since the engine started, and the '
      .. 'ledger is off; `ami log` lists earlier requests and `ami log show ID` shows one')
  end
  if res.token then
    -- Not in the engine's memory: it reads the ledger, and the answer comes as an event.
    sent_waiting[res.token] = true
    if not sent_registered then
      sent_registered = true
      host.on('sent', function(ev)
        if sent_waiting[ev.token] then
          sent_waiting[ev.token] = nil
          M.show_sent(ev)
        end
      end)
    end
    return
  end
  return M.show_sent(res)
end

--- Shows what a request sent ({uid, url, headers, body, when, missing, error}) in the
--- ami://sent buffer; returns the buffer.
function M.show_sent(res)
  if res.error and res.error ~= vim.NIL then
    return err(res.error)
  end
  if not res.url then
    return notify('ami: the ledger has no request of this document that sent something; '
      .. '`ami log` lists the recorded ones')
  end
  local lines = { ('# What left the machine · request %s · %s'):format(res.uid,
    os.date('%Y-%m-%d %H:%M:%S', res.when)), '' }
  if res.url ~= '' then
    vim.list_extend(lines, { '```http', 'POST ' .. res.url })
    vim.list_extend(lines, vim.split(vim.trim(res.headers), '\n', { plain = true }))
    vim.list_extend(lines, { '```', '' })
  end
  if res.body then
    table.insert(lines, '```json')
    vim.list_extend(lines, vim.split(res.body, '\n', { plain = true }))
    table.insert(lines, '```')
  else
    table.insert(lines, ('*No body: %s.*'):format(res.missing or 'not kept'))
  end
  local view = require('ami.view')
  local sb = view.buffer('ami://sent', 'markdown')
  view.set_lines(sb, lines)
  view.show(sb)
  return sb
end

--- :AmiStatus
function M.status()
  local host = require('ami.host')
  local st, e = host.request('status')
  if not st then
    return err(e)
  end
  local lines = {
    ('ami %s, engine pid %d (%s)'):format(st.version, st.pid, host.binary()),
    ('provider %s, model %s'):format(st.provider, st.model),
  }
  if st.key and st.key ~= vim.NIL then
    table.insert(lines, st.key.present and ('API key: from %s'):format(st.key.source)
      or ('API key: missing (%s)'):format(st.key.hint))
  end
  if st.config_error and st.config_error ~= vim.NIL then
    table.insert(lines, st.config_error)
  end
  notify(table.concat(lines, '\n'))
end

return M
