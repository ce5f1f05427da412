//go:build !unix

package fsafe

// oNonblock is not needed where named pipes cannot be opened as files.
const oNonblock = 0
