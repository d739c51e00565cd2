-- ami: registers the user commands.  Nothing else happens at start-up: each command loads
-- its module when it runs, and the engine process starts on first use.
if vim.g.loaded_ami then
  return
end
vim.g.loaded_ami = true

if vim.fn.has('nvim-0.7') ~= 1 then
  vim.api.nvim_echo({ { 'ami needs Neovim 0.7 or newer', 'ErrorMsg' } }, true, {})
  return
end

local function cmd(name, fn, opts)
  opts.force = true
  vim.api.nvim_create_user_command(name, function(o)
    require('ami.commands')[fn](o)
  end, opts)
end

cmd('Critique', 'critique', { range = true, nargs = '*', bang = true,
  desc = 'ami: ask an expert friend about the selected passage (!: two models side by side)',
  complete = function(arglead, cmdline)
    return require('ami.commands').complete_critique(arglead, cmdline)
  end })
cmd('Explain', 'explain', { range = true, nargs = '*', bang = true,
  desc = 'ami: where a project or product name comes from' })
cmd('AmiAsk', 'ask', { nargs = '*',
  desc = 'ami: a follow-up question in this document\'s thread (none: type it in the thread)' })
cmd('AmiExplore', 'explore', { range = true, nargs = '*',
  desc = 'ami: share an idea, as with a well-read friend: does it make sense, what does it evoke?' })
cmd('AmiThread', 'thread', { nargs = 0, desc = "ami: this document's thread in the sidebar, yesterday's too" })
cmd('AmiStop', 'stop', { nargs = 0, desc = 'ami: stop the answers running for this document' })
cmd('AmiModel', 'model', { nargs = '?', desc = 'ami: show or switch the model',
  complete = function(arglead)
    return require('ami.commands').complete_model(arglead)
  end })
cmd('AmiQuote', 'quote', { range = true, nargs = 0,
  desc = 'ami: quote the selected answer lines into the document, naming the model' })
cmd('AmiUsage', 'usage', { nargs = 0, desc = 'ami: what ami cost this month and before' })
cmd('AmiCompare', 'compare', { range = true, nargs = '*',
  desc = 'ami: the same critique from two models, side by side, for your vote' })
cmd('AmiVote', 'vote', { nargs = 1, desc = 'ami: vote on the comparison: a, b, tie or bad',
  complete = function()
    return { 'a', 'b', 'tie', 'bad' }
  end })
cmd('AmiArena', 'arena', { nargs = 0, desc = 'ami: the leaderboard of your own votes' })
cmd('AmiSent', 'sent', { nargs = 0,
  desc = 'ami: exactly what left the machine for the last request (the key never shown)' })
cmd('AmiStatus', 'status', { nargs = 0, desc = 'ami: engine, provider, model and API key status' })
cmd('AmiNotes', 'notes', { nargs = 0, desc = "ami: the document's margin notes in the location list" })
cmd('AmiNote', 'note', { nargs = 0, desc = 'ami: the margin note under the cursor, in a float' })
cmd('AmiDismiss', 'dismiss', { nargs = 0, bang = true,
  desc = 'ami: dismiss the note under the cursor (!: all of the document\'s)' })
cmd('AmiReply', 'reply', { nargs = '+', desc = 'ami: a follow-up question about the note under the cursor' })

-- Margin notes come back when their file is opened again.  The callback reads a small index
-- (beside the ledger) and starts the engine only for a file that has notes.
vim.api.nvim_create_autocmd('BufReadPost', {
  group = vim.api.nvim_create_augroup('ami.notes', { clear = true }),
  callback = function(args)
    local name = vim.api.nvim_buf_get_name(args.buf)
    if name ~= '' and require('ami.notes_index').has(vim.fn.fnamemodify(name, ':p')) then
      require('ami.notes').load(args.buf)
    end
  end,
})
