-- The init of `make demo`: ami loaded as a user's init.lua would, against the offline demo
-- provider (or OpenRouter with the writer's key), on a copy of the sample note, with every
-- XDG directory pointing into a temporary directory (scripts/demo.sh): nothing of the user's
-- own config, ledger or cache is read or written.
local root = vim.env.AMI_DEMO_ROOT
vim.opt.runtimepath:prepend(root)
vim.o.swapfile = false
vim.o.laststatus = 2
vim.o.statusline = ' %f %= %{v:lua.require("ami").statusline()} '
vim.o.signcolumn = 'yes'
vim.o.termguicolors = vim.env.COLORTERM == 'truecolor' or vim.env.COLORTERM == '24bit'
vim.cmd('syntax on')

local opts = { ledger = { path = vim.env.AMI_DEMO_LEDGER } }
if vim.env.AMI_DEMO_BASE and vim.env.AMI_DEMO_BASE ~= '' then
  opts.providers = { openrouter = { base_url = vim.env.AMI_DEMO_BASE } }
end
if vim.env.AMI_DEMO_MODEL and vim.env.AMI_DEMO_MODEL ~= '' then
  opts.model = vim.env.AMI_DEMO_MODEL
end
require('ami').setup(opts)

-- ]d / [d walk the notes and show each in a float (Neovim 0.10+ maps ]d to a jump without
-- the float; 0.7 does not map it at all).
do
  local jump = vim.diagnostic.jump
  vim.keymap.set('n', ']d', function()
    if jump then
      jump({ count = 1, float = true })
    else
      vim.diagnostic.goto_next()
    end
  end, { desc = 'next margin note' })
  vim.keymap.set('n', '[d', function()
    if jump then
      jump({ count = -1, float = true })
    else
      vim.diagnostic.goto_prev()
    end
  end, { desc = 'previous margin note' })
end

local banner_lines = {
  ' ami demo: an expert friend reads the muddled paragraph (lines 21-23).',
  ' Its remarks land on your words while the answer streams on the right;',
  ' your note is never rewritten. Try next:',
  '   ]d  [d      walk the margin notes   ·  :AmiNote   the note under the cursor',
  '   :AmiAsk     a follow-up (or i in the thread)   ·  :AmiQuote  quote an answer',
  '   :AmiUsage   what it cost            ·  :qa        leave the demo',
}

local function banner()
  local width = 0
  for _, l in ipairs(banner_lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l) + 1)
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, banner_lines)
  local win = vim.api.nvim_open_win(buf, false, {
    relative = 'editor',
    row = math.max(0, vim.o.lines - #banner_lines - 4),
    col = 1,
    width = math.min(width, vim.o.columns - 4),
    height = #banner_lines,
    style = 'minimal',
    border = 'rounded',
    focusable = false,
  })
  -- The first key the writer types closes it (the last line of it stays in the command line).
  local ns = vim.api.nvim_create_namespace('ami.demo')
  vim.on_key(function()
    vim.on_key(nil, ns)
    vim.schedule(function()
      if vim.api.nvim_win_is_valid(win) then
        vim.api.nvim_win_close(win, true)
      end
      vim.api.nvim_echo({ { 'ami demo: ]d walks the notes · :AmiAsk · :AmiQuote · :AmiUsage · :qa leaves',
        'Comment' } }, false, {})
    end)
  end, ns)
end

vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  callback = function()
    vim.cmd('edit ' .. vim.fn.fnameescape(vim.env.AMI_DEMO_NOTE))
    vim.api.nvim_win_set_cursor(0, { 21, 0 })
    vim.cmd('21,23Critique')
    banner()
  end,
})
