/* host: `ami rpc`, the process Neovim starts with jobstart({bin, 'rpc'}, {rpc = true}).
 *
 * It runs one libuv loop with a msgpack-RPC channel on stdin/stdout.  Every method answers at
 * once; work that waits on the network or the disk reports back later through notifications
 * (nvim_exec_lua calls into lua/ami/host.lua).  The host ends when stdin ends (Neovim quit),
 * within a second, or when the input is not msgpack-RPC (message on stderr, exit status 1).
 */
#ifndef AMI_HOST_H
#define AMI_HOST_H

/// Runs the host until its input ends.  Returns the process exit status.
int host_main(int argc, char **argv);

#endif
