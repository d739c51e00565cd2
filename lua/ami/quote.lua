-- ami.quote: :AmiQuote, the only way ami puts model text into a document, always as a quote
-- naming the model that said it (the id the provider answered with) and the date.
local M = {}

local api = vim.api

local function err(msg)
  vim.notify('ami: ' .. msg, vim.log.levels.ERROR)
end

--- The quotation lines for text (a list of lines) said by model on date, in format
--- "markdown", "plain", or a template using {text}, {quoted}, {model} and {date}.
function M.format(lines, model, date, format)
  format = format or 'markdown'
  if format == 'markdown' then
    local res = {}
    for _, l in ipairs(lines) do
      table.insert(res, l == '' and '>' or ('> ' .. l))
    end
    table.insert(res, '>')
    table.insert(res, ('> — %s, %s'):format(model, date))
    return res
  elseif format == 'plain' then
    local res = vim.list_extend({}, lines)
    res[1] = '“' .. res[1]
    res[#res] = res[#res] .. '”'
    table.insert(res, ('— %s, %s'):format(model, date))
    return res
  end
  local quoted = {}
  for _, l in ipairs(lines) do
    table.insert(quoted, l == '' and '>' or ('> ' .. l))
  end
  local values = {
    text = table.concat(lines, '\n'),
    quoted = table.concat(quoted, '\n'),
    model = model,
    date = date,
  }
  local out = format:gsub('{(%w+)}', function(k)
    return values[k]
  end)
  return vim.split(out, '\n', { plain = true })
end

--- :[range]AmiQuote in a thread buffer.
function M.quote(o)
  local buf = api.nvim_get_current_buf()
  local tm = require('ami.thread')
  if not tm.is_sidebar(buf) then
    return err('AmiQuote works in an ami thread (ami://...): select lines of an answer there')
  end
  local a1, a2 = tm.answer_at(buf, o.line1), tm.answer_at(buf, o.line2)
  if not a1 or a1 ~= a2 then
    return err('select lines inside one answer (not its header, not across answers)')
  end
  local lines = api.nvim_buf_get_lines(buf, o.line1 - 1, o.line2, false)
  while #lines > 0 and not lines[1]:match('%S') do
    table.remove(lines, 1)
  end
  while #lines > 0 and not lines[#lines]:match('%S') do
    table.remove(lines)
  end
  if #lines == 0 then
    return err('the selected lines are empty')
  end
  local t = a1.thread
  if not api.nvim_buf_is_valid(t.doc) then
    return err('the document of this thread is closed')
  end
  local win
  for _, w in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(w) == t.doc then
      win = w
      break
    end
  end
  if not win then
    return err(('the document (%s) is not shown in this tab page; show it, then quote again'):format(t.name))
  end
  local model = a1.model_answered or a1.model
  local date = os.date('%Y-%m-%d', a1.ended or a1.started)
  local quote = M.format(lines, model, date, require('ami.config').get().quote.format)
  local row = api.nvim_win_get_cursor(win)[1]
  api.nvim_buf_set_lines(t.doc, row, row, false, quote)
  vim.notify(('ami: quoted %d line%s from %s into %s'):format(#lines, #lines == 1 and '' or 's', model, t.name))
end

return M
