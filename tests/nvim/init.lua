-- Minimal init for the integration tests: this checkout on the runtimepath, tests/nvim on
-- package.path, nothing else of the user's.
local root = vim.env.AMI_ROOT
vim.opt.runtimepath:prepend(root)
package.path = root .. '/tests/nvim/?.lua;' .. package.path
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
