package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// goCAFiles are the CA bundle files Go's crypto/x509 reads on Linux, in
// its order; the image must have one of them.
var goCAFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// maxAccountFile bounds /etc/passwd and /etc/group read from a base.
const maxAccountFile = 1 << 20

// baseFS is what the image's own layers depend on in a base's flattened
// filesystem.
type baseFS struct {
	// types maps each absolute path to its tar type flag.
	types  map[string]byte
	passwd []byte
	group  []byte
}

// inspectBase reads the flattened filesystem of img.
func inspectBase(img v1.Image) (*baseFS, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	fs := &baseFS{types: map[string]byte{}}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading its filesystem: %w", err)
		}
		p := "/" + strings.TrimPrefix(path.Clean(hdr.Name), "/")
		fs.types[p] = hdr.Typeflag
		if hdr.Typeflag != tar.TypeReg || (p != "/etc/passwd" && p != "/etc/group") {
			continue
		}
		if hdr.Size > maxAccountFile {
			return nil, fmt.Errorf("its %s is %d bytes, more than the %d an account file may have", p, hdr.Size, maxAccountFile)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("reading its %s: %w", p, err)
		}
		if p == "/etc/passwd" {
			fs.passwd = data
		} else {
			fs.group = data
		}
	}
}

// caBundle returns the first of Go's CA bundle files the base has.
func (fs *baseFS) caBundle() string {
	for _, f := range goCAFiles {
		if t, ok := fs.types[f]; ok && (t == tar.TypeReg || t == tar.TypeSymlink) {
			return f
		}
	}
	return ""
}

// account is the non-root user the image runs as.
type account struct {
	home string
	// passwd and group are the files to write, nil when the base's serve.
	passwd, group []byte
}

// nonrootAccount finds the user and group with ID uid in the base, or
// adds "nonroot" (home /home/nonroot) to copies of its passwd and group.
func (fs *baseFS) nonrootAccount(uid int) (*account, error) {
	acct := &account{}
	if fields, ok := findID(fs.passwd, 2, uid); ok {
		if len(fields) < 7 || !path.IsAbs(fields[5]) {
			return nil, fmt.Errorf("its /etc/passwd entry for uid %d has no absolute home directory: %q", uid, strings.Join(fields, ":"))
		}
		acct.home = path.Clean(fields[5])
	} else {
		if _, taken := findName(fs.passwd, userName); taken {
			return nil, fmt.Errorf("its /etc/passwd has a user %q whose uid is not %d; choose a base without that user, or one where it has uid %d", userName, uid, uid)
		}
		acct.home = "/home/" + userName
		base := fs.passwd
		if base == nil {
			base = []byte("root:x:0:0:root:/root:/sbin/nologin\n")
		}
		acct.passwd = appendLine(base, fmt.Sprintf("%s:x:%d:%d:%s:%s:/sbin/nologin", userName, uid, uid, userName, acct.home))
	}
	if _, ok := findID(fs.group, 2, uid); !ok {
		if _, taken := findName(fs.group, userName); taken {
			return nil, fmt.Errorf("its /etc/group has a group %q whose gid is not %d; choose a base without that group, or one where it has gid %d", userName, uid, uid)
		}
		base := fs.group
		if base == nil {
			base = []byte("root:x:0:\n")
		}
		acct.group = appendLine(base, fmt.Sprintf("%s:x:%d:", userName, uid))
	}
	return acct, nil
}

// findID returns the fields of the first line of an account file whose
// field idx is id.
func findID(file []byte, idx, id int) ([]string, bool) {
	want := strconv.Itoa(id)
	return findLine(file, func(f []string) bool { return len(f) > idx && f[idx] == want })
}

func findName(file []byte, name string) ([]string, bool) {
	return findLine(file, func(f []string) bool { return f[0] == name })
}

func findLine(file []byte, match func([]string) bool) ([]string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(file))
	sc.Buffer(make([]byte, 0, 4096), maxAccountFile)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Split(line, ":"); match(f) {
			return f, true
		}
	}
	return nil, false
}

func appendLine(file []byte, line string) []byte {
	out := append([]byte(nil), file...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(out, line+"\n"...)
}

// layerEntries returns the files and directories of the image's own
// layers for this base: the system layer (account files, home, /tmp and
// the working directory) and the binary layer (BinaryPath and any missing
// parent directory). Parent directories the base already has are left as
// the base made them; a parent that is not a directory is an error.
func (fs *baseFS) layerEntries(acct *account, binary []byte) (system, bin []entry, err error) {
	added := map[string]bool{}
	dirs := func(dst *[]entry, p string) error {
		for _, d := range parentDirs(p) {
			t, ok := fs.types[d]
			switch {
			case ok && t == tar.TypeDir:
			case ok:
				return fmt.Errorf("its %s is %s, not a directory, so the image cannot have %s", d, typeName(t), p)
			case !added[d]:
				added[d] = true
				*dst = append(*dst, entry{name: d, dir: true, mode: 0o755})
			}
		}
		return nil
	}
	addFile := func(dst *[]entry, e entry) error {
		if err := dirs(dst, e.name); err != nil {
			return err
		}
		if t, ok := fs.types[e.name]; ok && t != tar.TypeReg && !e.dir {
			return fmt.Errorf("its %s is %s, not a regular file, so the image cannot replace it", e.name, typeName(t))
		}
		if t, ok := fs.types[e.name]; ok && t != tar.TypeDir && e.dir {
			return fmt.Errorf("its %s is %s, not a directory, so the image cannot have it as one", e.name, typeName(t))
		}
		added[e.name] = true
		*dst = append(*dst, e)
		return nil
	}

	if acct.passwd != nil {
		if err := addFile(&system, entry{name: "/etc/passwd", mode: 0o644, data: acct.passwd}); err != nil {
			return nil, nil, err
		}
		if _, ok := fs.types[acct.home]; !ok {
			if err := addFile(&system, entry{name: acct.home, dir: true, mode: 0o700, uid: UID, gid: UID}); err != nil {
				return nil, nil, err
			}
		}
	}
	if acct.group != nil {
		if err := addFile(&system, entry{name: "/etc/group", mode: 0o644, data: acct.group}); err != nil {
			return nil, nil, err
		}
	}
	if _, ok := fs.types["/tmp"]; !ok {
		if err := addFile(&system, entry{name: "/tmp", dir: true, mode: 0o1777}); err != nil {
			return nil, nil, err
		}
	}
	if err := addFile(&system, entry{name: WorkingDir, dir: true, mode: 0o755, uid: UID, gid: UID}); err != nil {
		return nil, nil, err
	}
	if err := addFile(&bin, entry{name: BinaryPath, mode: 0o755, data: binary}); err != nil {
		return nil, nil, err
	}
	return system, bin, nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeReg:
		return "a regular file"
	case tar.TypeDir:
		return "a directory"
	case tar.TypeSymlink:
		return "a symbolic link"
	case tar.TypeLink:
		return "a hard link"
	}
	return fmt.Sprintf("a special file (tar type %q)", t)
}
