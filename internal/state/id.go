package state

import (
	"crypto/rand"
	"time"
)

// crockford is Crockford's base32 alphabet: digits then letters without
// I, L, O, U; its byte order is its sort order.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a new record id: 26 characters, a ULID layout (48 bits of
// milliseconds since the epoch, then 80 random bits from crypto/rand, in
// Crockford base32), so ids sort by creation time and two writers never
// collide.
func NewID(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails (Go 1.24+)
	return encodeULID(b)
}

func encodeULID(b [16]byte) string {
	// 128 bits into 26 base32 digits: the first digit holds the top 3 bits.
	var out [26]byte
	var acc uint64
	var hi uint64 = uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	var lo uint64 = uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 |
		uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	for i := 25; i >= 0; i-- {
		acc = lo & 31
		out[i] = crockford[acc]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// idTime returns the creation time encoded in a NewID id, and false for an
// id of another form (hand-written records may have any id).
func idTime(id string) (time.Time, bool) {
	if len(id) != 26 || id[0] > '7' {
		return time.Time{}, false
	}
	var ms uint64
	for i := 0; i < 10; i++ {
		v := -1
		for j := 0; j < len(crockford); j++ {
			if crockford[j] == id[i] {
				v = j
				break
			}
		}
		if v < 0 {
			return time.Time{}, false
		}
		ms = ms<<5 | uint64(v)
	}
	return time.UnixMilli(int64(ms)).UTC(), true
}
