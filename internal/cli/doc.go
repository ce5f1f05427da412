// Package cli holds pipe's command-line interface: the cobra commands (one
// file each, each with its options struct), the binding of flags, PIPE_*
// environment variables and the repository config into those options (viper
// lives here and nowhere else), the mapping of errors to exit codes and
// their rendering. It is the only package that touches the process: args,
// environment, standard streams, signals and the clock come in through Env.
package cli
