-- Neovim's init for the benchmark (bench/run.py): this checkout on the runtimepath, bench/ on
-- package.path, markdown syntax on, nothing of the user's.  The rest is Neovim's defaults.
local root = vim.env.AMI_ROOT
vim.opt.runtimepath:prepend(root)
package.path = root .. '/bench/?.lua;' .. package.path
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
vim.cmd('syntax on')
vim.cmd('filetype plugin on')
