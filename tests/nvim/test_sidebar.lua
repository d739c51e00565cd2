-- The thread buffer's own Markdown highlighting (ami.highlight) and the sidebar's streaming
-- path: spans computed once per line and kept on the right rows as the buffer changes,
-- tree-sitter and the regex syntax off unless sidebar.highlight = 'markdown', the text whole
-- when something else changes the buffer between two pieces.
local h = require('helpers')
local api = vim.api

local T = {}

local function url(s)
  return (s:gsub('[^%w%-%._~]', function(c)
    return ('%%%02X'):format(c:byte())
  end))
end

-- The groups of the spans kept for row of buf, in order.
local function groups(buf, row)
  local out = {}
  local spans = require('ami.highlight').spans(buf, row) or {}
  for i = 1, #spans, 3 do
    out[#out + 1] = spans[i + 2]
  end
  return table.concat(out, ',')
end

local function row_of(buf, text)
  for i, l in ipairs(api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if l == text then
      return i - 1
    end
  end
  error('no line ' .. text)
end

local ANSWER = table.concat({
  '## A heading', '', 'Some **bold** and `code` and *italic* words.', '',
  '- a list item', '1. a numbered one', '> a quoted line', '', '```lua', 'local x = 1',
  '```', '', 'after the block', '', '```', 'left open',
}, '\n')

T[#T + 1] = { 'each_line_of_an_answer_gets_its_spans_on_its_row', function()
  h.use_fake('fake/text?text=' .. url(ANSWER))
  local doc = h.document({ 'a line' })
  vim.cmd('1Critique')
  local t = h.wait_answer(doc)
  local b = t.buf
  h.eq('AmiHeading', groups(b, row_of(b, '## A heading')))
  h.eq('AmiCode,AmiBold,AmiItalic', groups(b, row_of(b, 'Some **bold** and `code` and *italic* words.')))
  h.eq('AmiListMarker', groups(b, row_of(b, '- a list item')))
  h.eq('AmiListMarker', groups(b, row_of(b, '1. a numbered one')))
  h.eq('AmiQuote', groups(b, row_of(b, '> a quoted line')))
  h.eq('AmiCodeDelimiter', groups(b, row_of(b, '```lua')))
  h.eq('AmiCode', groups(b, row_of(b, 'local x = 1')))
  h.eq('', groups(b, row_of(b, 'after the block')))
  h.eq('AmiCode', groups(b, row_of(b, 'left open')))
  -- The footer is ami's, not inside the block the answer left open.
  local last = api.nvim_buf_line_count(b) - 1
  while api.nvim_buf_get_lines(b, last, last + 1, false)[1] == '' do
    last = last - 1
  end
  h.contains(api.nvim_buf_get_lines(b, last, last + 1, false)[1], ' out · ')
  h.ok(groups(b, last) ~= 'AmiCode', 'the footer is not code: ' .. groups(b, last))
  -- A second answer below: the first one's spans stay on their rows.
  local heading = row_of(b, '## A heading')
  vim.cmd('1Critique')
  h.wait(function()
    return #t.finished == 2
  end, 10000, 'the second answer')
  h.eq('AmiHeading', groups(b, heading))
end }

T[#T + 1] = { 'spans_move_with_the_lines_inserted_or_deleted_above', function()
  local hl = require('ami.highlight')
  local b = api.nvim_create_buf(false, true)
  hl.attach(b)
  local lines = { '# one', 'plain', '> two', '```', 'code' }
  api.nvim_buf_set_lines(b, 0, -1, false, lines)
  local st = {}
  for i, l in ipairs(lines) do
    hl.line(b, i - 1, l, st)
  end
  h.eq('AmiQuote', groups(b, 2))
  api.nvim_buf_set_lines(b, 0, 0, false, { 'new', 'lines' })
  h.eq('AmiHeading', groups(b, 2))
  h.eq('AmiQuote', groups(b, 4))
  h.eq('AmiCode', groups(b, 6))
  h.eq('', groups(b, 0))
  api.nvim_buf_set_lines(b, 0, 3, false, {}) -- 'new', 'lines' and '# one' go
  h.eq('', groups(b, 0))
  h.eq('AmiQuote', groups(b, 1))
  h.eq('AmiCode', groups(b, 3))
  -- A changed line loses its spans (until they are computed again).
  api.nvim_buf_set_lines(b, 1, 2, false, { 'not a quote' })
  h.eq('', groups(b, 1))
  h.eq('AmiCode', groups(b, 3))
  api.nvim_buf_delete(b, { force = true })
  h.ok(not hl.attached(b), 'a wiped buffer is forgotten')
end }

T[#T + 1] = { 'the_spans_of_a_line_do_not_depend_on_its_neighbours_but_the_fence', function()
  local hl = require('ami.highlight')
  local function flat(line, st, peek)
    local s = hl.spans_of(line, st or {}, peek)
    local out = {}
    for i = 1, #s, 3 do
      out[#out + 1] = ('%s[%d,%d)'):format(s[i + 2], s[i], s[i + 1])
    end
    return table.concat(out, ' ')
  end
  h.eq('AmiHeading[0,5)', flat('# a b'))
  h.eq('', flat('#no heading'))
  h.eq('AmiRule[0,3)', flat('---'))
  h.eq('AmiListMarker[0,1) AmiBold[2,10)', flat('* **bold**'))
  h.eq('AmiCode[4,10) AmiItalic[11,14)', flat('see `a*b*` *c*'))
  h.eq('', flat('a ** b ** c'))
  local st = {}
  h.eq('AmiCodeDelimiter[0,6)', flat('~~~~ x', st))
  h.eq('AmiCode[0,9)', flat('# not a h', st))
  h.eq('AmiCode[0,3)', flat('```', st)) -- another fence char: still inside
  h.eq('AmiCodeDelimiter[0,4)', flat('~~~~', st, true)) -- peek: the block stays open
  h.eq('AmiCode[0,1)', flat('x', st))
  h.eq('AmiCodeDelimiter[0,5)', flat('~~~~~', st))
  h.eq('AmiHeading[0,3)', flat('# h', st))
end }

T[#T + 1] = { 'tree_sitter_and_syntax_are_off_in_the_thread_unless_asked', function()
  h.use_fake('fake/hello')
  local doc = h.document({ 'a line' })
  vim.cmd('1Critique')
  local t = h.wait_answer(doc)
  local active = vim.treesitter and vim.treesitter.highlighter and vim.treesitter.highlighter.active
  h.eq('markdown', vim.bo[t.buf].filetype)
  h.eq('OFF', vim.bo[t.buf].syntax)
  h.ok(not (active and active[t.buf]), 'no tree-sitter highlighter on the thread')
  h.ok(require('ami.highlight').attached(t.buf), 'highlighted by ami')
  -- Setting the filetype again (a plugin, :set ft=markdown) does not bring them back.
  vim.bo[t.buf].filetype = 'markdown'
  h.wait(function()
    return vim.bo[t.buf].syntax == 'OFF' and not (active and active[t.buf])
  end, 2000, 'syntax and tree-sitter off again')
  -- sidebar.highlight = 'markdown': Neovim's own highlighting of the filetype, not ours.
  h.reset()
  h.use_fake('fake/hello', { sidebar = { highlight = 'markdown' } })
  doc = h.document({ 'another' }, 'other.md')
  vim.cmd('1Critique')
  t = h.wait_answer(doc)
  h.ok(not require('ami.highlight').attached(t.buf), 'not highlighted by ami')
  h.ok(vim.bo[t.buf].syntax ~= 'OFF', 'the filetype syntax stays')
  if h.has('0.12') then
    h.ok(active[t.buf] ~= nil, "Neovim 0.12's tree-sitter highlighting stays")
  end
end }

T[#T + 1] = { 'the_text_stays_whole_when_the_thread_changes_between_two_pieces', function()
  h.use_fake('fake/count?n=80&gap_ms=3')
  local doc = h.document({ 'a line' })
  vim.cmd('1Critique')
  local t = require('ami.thread').get(doc)
  local sidebar = require('ami.sidebar')
  local region
  h.wait(function()
    region = nil
    for _, a in pairs(require('ami.thread').all_answers(t)) do
      region = a.region
    end
    return region and h.text(t.buf):find('5 ', 1, true)
  end, 5000, 'text')
  -- The header is rewritten (as when the votes reveal the models) and lines are added above
  -- while text arrives: the next pieces still go to the tail.
  for i = 1, 10 do
    sidebar.set_header_line(region, 0, '## changed header ' .. i)
    vim.bo[t.buf].modifiable = true
    api.nvim_buf_set_lines(t.buf, 0, 0, false, { 'inserted above ' .. i })
    vim.bo[t.buf].modifiable = false
    vim.wait(7)
  end
  h.wait_answer(doc)
  local want = {}
  for i = 1, 80 do
    want[#want + 1] = i .. ' '
  end
  h.contains(h.text(t.buf), table.concat(want))
  h.contains(h.text(t.buf), '## changed header 10')
end }

T[#T + 1] = { 'the_thread_refuses_the_writers_edits_whenever_it_is_current', function()
  h.use_fake('fake/count?n=150&gap_ms=4')
  local doc = h.document({ 'a line' })
  local docwin = api.nvim_get_current_win()
  vim.cmd('1Critique')
  local t = require('ami.thread').get(doc)
  h.wait(function()
    return h.text(t.buf):find('5 ', 1, true)
  end, 5000, 'text')
  -- Streaming into a buffer that is not the current one may leave it modifiable between
  -- pieces; entering it must not.
  local win = vim.fn.bufwinid(t.buf)
  h.ok(win > 0, 'the sidebar shows the thread')
  api.nvim_set_current_win(win)
  h.eq(false, vim.bo[t.buf].modifiable, 'modifiable on entering the thread')
  h.ok(not pcall(vim.cmd, 'normal! x'), 'an edit is refused on entering')
  local before = #h.text(t.buf)
  h.wait(function()
    return #h.text(t.buf) > before + 20
  end, 5000, 'more text while the thread is current')
  h.eq(false, vim.bo[t.buf].modifiable, 'modifiable between pieces while current')
  h.ok(not pcall(vim.cmd, 'normal! x'), 'an edit is refused while current')
  api.nvim_set_current_win(docwin)
  h.wait_answer(doc)
  h.eq(false, vim.bo[t.buf].modifiable, 'modifiable after the answer')
  local want = {}
  for i = 1, 150 do
    want[#want + 1] = i .. ' '
  end
  h.contains(h.text(t.buf), table.concat(want))
end }

T[#T + 1] = { 'a_line_longer_than_any_window_wraps_at_any_character_while_it_is_written', function()
  local sidebar = require('ami.sidebar')
  local buf = sidebar.buffer('long-line')
  local win = sidebar.show(buf)
  local region = sidebar.open_region(buf, { '## Question' })
  h.eq(true, vim.wo[win].linebreak, 'a thread window wraps at words')
  local a, b = string.rep('abcdefg ', 1024), string.rep('hijklmn/', 2048)
  sidebar.insert(region, a)
  h.eq(true, vim.wo[win].linebreak, 'a line of 8 KiB')
  -- 'linebreak' is off before the text goes in, not only after it: the change itself measures
  -- the line under the window's cursor.
  local during
  vim.api.nvim_buf_attach(buf, false, {
    on_bytes = function()
      if during == nil then
        during = vim.wo[win].linebreak
      end
    end,
  })
  sidebar.insert(region, b)
  h.eq(false, during, "'linebreak' while the piece that makes the line long goes in")
  h.eq(false, vim.wo[win].linebreak, 'a line of 24 KiB being written')
  sidebar.insert(region, 'end\nnext words')
  -- The turn that ends the line follows the end without 'linebreak' (the cheap measure); it
  -- comes back in a turn of its own.
  h.eq(false, vim.wo[win].linebreak, 'in the turn that ends the long line')
  h.eq(vim.api.nvim_buf_line_count(buf), vim.api.nvim_win_get_cursor(win)[1], 'the window follows the end')
  -- Too long for the window: the view starts right after it, as following puts it.
  local long_lnum
  for i, l in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if l:sub(1, 8) == 'abcdefg ' then
      long_lnum = i
    end
  end
  h.eq(long_lnum + 1, vim.fn.line('w0', win), 'the view starts after the long line')
  h.eq(true, vim.api.nvim_win_call(win, function()
    return vim.fn.line('.') >= vim.fn.line('w0') and vim.fn.line('.') <= vim.fn.line('w$')
  end), 'the end is in view')
  h.wait(function()
    return vim.wo[win].linebreak
  end, 1000, "'linebreak' back once the long line has ended")
  h.contains(h.text(buf), a .. b .. 'end\nnext words')
  -- A long line begun before 'linebreak' comes back keeps it off until its own end: begun in
  -- the turn after the one that ended the last long line, or in the same piece.
  local c = b .. b
  local want = a .. b .. 'end\nnext words'
  for _, ends in ipairs({ { '\nend', c }, { '\nend\n' .. c } }) do
    sidebar.insert(region, '\n' .. c)
    h.eq(false, vim.wo[win].linebreak, 'a long line')
    for _, piece in ipairs(ends) do
      sidebar.insert(region, piece)
    end
    vim.wait(30)
    h.eq(false, vim.wo[win].linebreak, 'the next long line, begun as the last one ended in ' .. #ends .. ' pieces')
    sidebar.insert(region, '\nend')
    h.wait(function()
      return vim.wo[win].linebreak
    end, 1000, "'linebreak' back after it")
    want = want .. '\n' .. c .. table.concat(ends) .. '\nend'
  end
  h.contains(h.text(buf), want)
end }

T[#T + 1] = { 'spans_are_the_same_whatever_the_pieces_and_changes_between_them', function()
  -- The answer put in by pieces of every size (within a line, across lines, whole), with the
  -- header rewritten between some of them (the tail's line is then read back): each row's
  -- spans are those of its final text, as if computed on the whole answer at once.
  require('ami.config').setup({})
  local sidebar = require('ami.sidebar')
  local hl = require('ami.highlight')
  local text = ANSWER .. '\nend **of** the `answer`\n'
  math.randomseed(7)
  for round = 1, 20 do
    local buf = sidebar.buffer('pieces-' .. round)
    local region = sidebar.open_region(buf, { '## header' })
    local i = 1
    while i <= #text do
      local n = math.random(1, round <= 10 and 12 or 80)
      sidebar.insert(region, text:sub(i, i + n - 1))
      i = i + n
      if math.random() < 0.2 then
        sidebar.set_header_line(region, 0, '## header ' .. i)
      end
    end
    local first, last = sidebar.body_range(region)
    local rows = api.nvim_buf_get_lines(buf, first - 1, last, false)
    h.eq(text, table.concat(rows, '\n'), 'round ' .. round .. ': the text')
    local st = {}
    for k, line in ipairs(rows) do
      local want = hl.spans_of(line, st, k == #rows)
      if k == #rows and line == '' then
        want = {} -- the line being written is highlighted once it holds something
      end
      local got = hl.spans(buf, first - 2 + k) or {}
      h.eq(vim.inspect(#want > 0 and want or {}), vim.inspect(got), ('round %d, row %d: %q'):format(round, k, line))
    end
  end
end }

return T
