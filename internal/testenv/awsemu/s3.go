package awsemu

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxObject bounds what the emulator keeps of one object.
const maxObject = 512 << 20

type bucket struct {
	name    string
	created time.Time
	objects map[string][]*object // every version, oldest first
}

type object struct {
	key, versionID, etag, contentType string
	data                              []byte
	modified                          time.Time
	deleteMarker                      bool
	metadata                          map[string]string
}

var s3Messages = map[string]string{
	"NoSuchBucket":       "The specified bucket does not exist",
	"NoSuchKey":          "The specified key does not exist.",
	"NoSuchVersion":      "The specified version does not exist.",
	"InvalidAccessKeyId": "The AWS Access Key Id you provided does not exist in our records.",
	"ExpiredToken":       "The provided token has expired.",
	"BadDigest":          "The Content-MD5 you specified did not match what we received.",
	"BucketNotEmpty":     "The bucket you tried to delete is not empty",
	"InvalidBucketName":  "The specified bucket is not valid.",
	"MethodNotAllowed":   "The specified method is not allowed against this resource.",
	"InvalidArgument":    "Invalid version id specified",
	"EntityTooLarge":     "Your proposed upload exceeds the maximum allowed size",
	"IncompleteBody":     "The request body terminated unexpectedly",
}

var s3Status = map[string]int{
	"NoSuchBucket": 404, "NoSuchKey": 404, "NoSuchVersion": 404, "InvalidAccessKeyId": 403, "ExpiredToken": 400,
	"BadDigest": 400, "BucketNotEmpty": 409, "InvalidBucketName": 400, "MethodNotAllowed": 405, "InvalidArgument": 400,
	"AccessDenied": 403, "EntityTooLarge": 400, "IncompleteBody": 400,
}

// PutObject stores data as a new version of bucket/key, creating the
// bucket if needed, and returns the version ID.
func (e *Emulator) PutObject(bucket, key string, data []byte) (versionID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.putObject(e.ensureBucket(bucket), key, data, "binary/octet-stream", nil).versionID
}

// GetObject returns the latest version of bucket/key.
func (e *Emulator) GetObject(bucket, key string) ([]byte, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, code := e.getObject(bucket, key, "")
	if code != "" {
		return nil, false
	}
	return bytes.Clone(o.data), true
}

func (e *Emulator) ensureBucket(name string) *bucket {
	b := e.buckets[name]
	if b == nil {
		b = &bucket{name: name, created: e.now(), objects: map[string][]*object{}}
		e.buckets[name] = b
	}
	return b
}

func (e *Emulator) putObject(b *bucket, key string, data []byte, contentType string, meta map[string]string) *object {
	sum := md5.Sum(data)
	o := &object{key: key, data: bytes.Clone(data), etag: `"` + hex.EncodeToString(sum[:]) + `"`, contentType: contentType,
		modified: e.now(), metadata: meta}
	// S3 version IDs are 32 URL-safe characters.
	o.versionID = strings.NewReplacer("+", "A", "/", "B", "=", "").Replace(base64.StdEncoding.EncodeToString([]byte(e.nextID("s3v")[:24])))[:32]
	b.objects[key] = append(b.objects[key], o)
	return o
}

// getObject finds a version of an object (the latest when versionID is
// ""), or the S3 error code. Callers hold e.mu.
func (e *Emulator) getObject(bucket, key, versionID string) (*object, string) {
	b := e.buckets[bucket]
	if b == nil {
		return nil, "NoSuchBucket"
	}
	vs := b.objects[key]
	if versionID == "" {
		if len(vs) == 0 || vs[len(vs)-1].deleteMarker {
			return nil, "NoSuchKey"
		}
		return vs[len(vs)-1], ""
	}
	for _, o := range vs {
		if o.versionID == versionID {
			if o.deleteMarker {
				return nil, "MethodNotAllowed"
			}
			return o, ""
		}
	}
	if versionID == "null" || len(versionID) != 32 {
		return nil, "InvalidArgument"
	}
	return nil, "NoSuchVersion"
}

type s3Error struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	Key        string   `xml:"Key,omitempty"`
	BucketName string   `xml:"BucketName,omitempty"`
	RequestID  string   `xml:"RequestId"`
	HostID     string   `xml:"HostId"`
}

func (e *Emulator) writeS3Error(w http.ResponseWriter, r *http.Request, code, message, bucket, key string) {
	e.mu.Lock()
	id := e.uuid()
	e.mu.Unlock()
	writeS3ErrorID(w, r, code, message, bucket, key, id)
}

func writeS3ErrorID(w http.ResponseWriter, r *http.Request, code, message, bucket, key, id string) {
	if message == "" {
		message = s3Messages[code]
	}
	status := s3Status[code]
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.Header().Set("x-amz-request-id", id)
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	writeXML(w, status, s3Error{Code: code, Message: message, Key: key, BucketName: bucket, RequestID: id, HostID: id})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(v)
}

// s3Target splits a request into bucket and key, path-style or
// virtual-hosted (bucket.localhost, bucket.s3.<anything>).
func s3Target(r *http.Request) (bucket, key string) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	p := r.URL.Path
	if net.ParseIP(host) == nil && host != "localhost" {
		if b, rest, ok := strings.Cut(host, "."); ok && (rest == "localhost" || strings.HasPrefix(rest, "s3.") || strings.HasPrefix(rest, "s3-")) {
			return b, strings.TrimPrefix(p, "/")
		}
	}
	bucket, key, _ = strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return bucket, key
}

func s3Operation(r *http.Request, bucket, key string) string {
	q := queryValues(r)
	switch {
	case bucket == "" && r.Method == http.MethodGet:
		return "ListBuckets"
	case key == "":
		switch r.Method {
		case http.MethodPut:
			if q.Has("versioning") {
				return "PutBucketVersioning"
			}
			return "CreateBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodDelete:
			return "DeleteBucket"
		case http.MethodGet:
			switch {
			case q.Has("versioning"):
				return "GetBucketVersioning"
			case q.Has("location"):
				return "GetBucketLocation"
			case q.Has("versions"):
				return "ListObjectVersions"
			case q.Get("list-type") == "2":
				return "ListObjectsV2"
			}
			return "ListObjects"
		}
	default:
		switch r.Method {
		case http.MethodPut:
			return "PutObject"
		case http.MethodGet:
			return "GetObject"
		case http.MethodHead:
			return "HeadObject"
		case http.MethodDelete:
			return "DeleteObject"
		}
	}
	return ""
}

// s3Action is the IAM action of an S3 operation.
var s3Action = map[string]string{
	"ListBuckets": "s3:ListAllMyBuckets", "CreateBucket": "s3:CreateBucket", "HeadBucket": "s3:ListBucket",
	"DeleteBucket": "s3:DeleteBucket", "GetBucketVersioning": "s3:GetBucketVersioning", "PutBucketVersioning": "s3:PutBucketVersioning",
	"GetBucketLocation": "s3:GetBucketLocation", "ListObjectVersions": "s3:ListBucketVersions", "ListObjectsV2": "s3:ListBucket",
	"ListObjects": "s3:ListBucket", "PutObject": "s3:PutObject", "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject",
	"DeleteObject": "s3:DeleteObject",
}

func (e *Emulator) serveS3(w http.ResponseWriter, r *http.Request, c *call, auth authErr) {
	bucketName, key := s3Target(r)
	op := s3Operation(r, bucketName, key)
	c.operation = op
	switch auth {
	case authUnknownKey:
		e.writeS3Error(w, r, "InvalidAccessKeyId", "", "", "")
		return
	case authExpired:
		e.writeS3Error(w, r, "ExpiredToken", "", "", "")
		return
	}
	if op == "" {
		e.writeS3Error(w, r, "MethodNotAllowed", "", bucketName, key)
		return
	}
	if action := s3Action[op]; e.denied(action) {
		resource := "arn:aws:s3:::" + bucketName
		if key != "" {
			resource += "/" + key
		}
		e.writeS3Error(w, r, "AccessDenied", deniedMessage(c.principal, action, `"`+resource+`"`), "", "")
		return
	}
	q := queryValues(r)
	var body []byte
	if r.Method == http.MethodPut {
		var code string
		if body, code = readS3Body(r); code != "" {
			e.writeS3Error(w, r, code, "", bucketName, key)
			return
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	reqID := e.uuid()
	w.Header().Set("x-amz-request-id", reqID)
	fail := func(code string) { writeS3ErrorID(w, r, code, "", bucketName, key, reqID) }
	if op == "ListBuckets" {
		type b struct {
			Name         string `xml:"Name"`
			CreationDate string `xml:"CreationDate"`
		}
		out := struct {
			XMLName xml.Name `xml:"ListAllMyBucketsResult"`
			Xmlns   string   `xml:"xmlns,attr"`
			Owner   struct {
				ID string `xml:"ID"`
			} `xml:"Owner"`
			Buckets []b `xml:"Buckets>Bucket"`
		}{Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/"}
		out.Owner.ID = AccountID
		for _, n := range sortedKeys(e.buckets) {
			out.Buckets = append(out.Buckets, b{n, e.buckets[n].created.UTC().Format(time.RFC3339)})
		}
		writeXML(w, http.StatusOK, out)
		return
	}
	if op == "CreateBucket" {
		if len(bucketName) < 3 || len(bucketName) > 63 || strings.ToLower(bucketName) != bucketName || strings.ContainsAny(bucketName, "_ /") {
			fail("InvalidBucketName")
			return
		}
		e.ensureBucket(bucketName)
		w.Header().Set("Location", "/"+bucketName)
		w.WriteHeader(http.StatusOK)
		return
	}
	b := e.buckets[bucketName]
	if b == nil {
		fail("NoSuchBucket")
		return
	}
	switch op {
	case "HeadBucket":
		w.Header().Set("x-amz-bucket-region", e.region)
		w.WriteHeader(http.StatusOK)
	case "DeleteBucket":
		for _, vs := range b.objects {
			if len(vs) > 0 && !vs[len(vs)-1].deleteMarker {
				fail("BucketNotEmpty")
				return
			}
		}
		delete(e.buckets, bucketName)
		w.WriteHeader(http.StatusNoContent)
	case "PutBucketVersioning":
		w.WriteHeader(http.StatusOK) // always versioned
	case "GetBucketVersioning":
		writeXML(w, http.StatusOK, struct {
			XMLName xml.Name `xml:"VersioningConfiguration"`
			Xmlns   string   `xml:"xmlns,attr"`
			Status  string   `xml:"Status"`
		}{Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/", Status: "Enabled"})
	case "GetBucketLocation":
		loc := e.region
		if loc == "us-east-1" {
			loc = ""
		}
		writeXML(w, http.StatusOK, struct {
			XMLName xml.Name `xml:"LocationConstraint"`
			Xmlns   string   `xml:"xmlns,attr"`
			Value   string   `xml:",chardata"`
		}{Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/", Value: loc})
	case "ListObjectsV2", "ListObjects", "ListObjectVersions":
		e.listObjects(w, b, op, q)
	case "PutObject":
		if md := r.Header.Get("Content-MD5"); md != "" {
			sum := md5.Sum(body)
			if md != base64.StdEncoding.EncodeToString(sum[:]) {
				fail("BadDigest")
				return
			}
		}
		meta := map[string]string{}
		for k, v := range r.Header {
			if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-meta-") && len(v) > 0 {
				meta[strings.TrimPrefix(lk, "x-amz-meta-")] = v[0]
			}
		}
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "binary/octet-stream"
		}
		o := e.putObject(b, key, body, ct, meta)
		w.Header().Set("ETag", o.etag)
		w.Header().Set("x-amz-version-id", o.versionID)
		w.WriteHeader(http.StatusOK)
	case "GetObject", "HeadObject":
		o, code := e.getObject(bucketName, key, q.Get("versionId"))
		if code != "" {
			fail(code)
			return
		}
		h := w.Header()
		h.Set("ETag", o.etag)
		h.Set("x-amz-version-id", o.versionID)
		h.Set("Last-Modified", o.modified.UTC().Format(http.TimeFormat))
		h.Set("Content-Type", o.contentType)
		h.Set("Content-Length", strconv.Itoa(len(o.data)))
		h.Set("Accept-Ranges", "bytes")
		for k, v := range o.metadata {
			h.Set("x-amz-meta-"+k, v)
		}
		w.WriteHeader(http.StatusOK)
		if op == "GetObject" {
			_, _ = w.Write(o.data)
		}
	case "DeleteObject":
		if v := q.Get("versionId"); v != "" {
			vs := b.objects[key]
			for i, o := range vs {
				if o.versionID == v {
					b.objects[key] = append(vs[:i:i], vs[i+1:]...)
					break
				}
			}
			w.Header().Set("x-amz-version-id", v)
		} else {
			m := &object{key: key, deleteMarker: true, modified: e.now()}
			m.versionID = strings.NewReplacer("+", "A", "/", "B", "=", "").Replace(base64.StdEncoding.EncodeToString([]byte(e.nextID("s3v")[:24])))[:32]
			b.objects[key] = append(b.objects[key], m)
			w.Header().Set("x-amz-delete-marker", "true")
			w.Header().Set("x-amz-version-id", m.versionID)
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

type s3Content struct {
	Key          string `xml:"Key"`
	VersionID    string `xml:"VersionId,omitempty"`
	IsLatest     *bool  `xml:"IsLatest,omitempty"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int    `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

func (e *Emulator) listObjects(w http.ResponseWriter, b *bucket, op string, q url.Values) {
	prefix := q.Get("prefix")
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var contents []s3Content
	for _, k := range keys {
		vs := b.objects[k]
		if op == "ListObjectVersions" {
			for i := len(vs) - 1; i >= 0; i-- {
				if o := vs[i]; !o.deleteMarker {
					latest := i == len(vs)-1
					contents = append(contents, s3Content{Key: k, VersionID: o.versionID, IsLatest: &latest, LastModified: o.modified.UTC().Format("2006-01-02T15:04:05.000Z"), ETag: o.etag, Size: len(o.data), StorageClass: "STANDARD"})
				}
			}
			continue
		}
		if len(vs) == 0 || vs[len(vs)-1].deleteMarker {
			continue
		}
		o := vs[len(vs)-1]
		contents = append(contents, s3Content{Key: k, LastModified: o.modified.UTC().Format("2006-01-02T15:04:05.000Z"), ETag: o.etag, Size: len(o.data), StorageClass: "STANDARD"})
	}
	name := "ListBucketResult"
	if op == "ListObjectVersions" {
		name = "ListVersionsResult"
	}
	type result struct {
		XMLName     xml.Name
		Xmlns       string      `xml:"xmlns,attr"`
		Name        string      `xml:"Name"`
		Prefix      string      `xml:"Prefix"`
		KeyCount    *int        `xml:"KeyCount,omitempty"`
		MaxKeys     int         `xml:"MaxKeys"`
		IsTruncated bool        `xml:"IsTruncated"`
		Contents    []s3Content `xml:"Contents,omitempty"`
		Versions    []s3Content `xml:"Version,omitempty"`
	}
	out := result{XMLName: xml.Name{Local: name}, Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/", Name: b.name, Prefix: prefix, MaxKeys: 1000}
	if op == "ListObjectVersions" {
		out.Versions = contents
	} else {
		out.Contents = contents
	}
	if op == "ListObjectsV2" {
		n := len(contents)
		out.KeyCount = &n
	}
	writeXML(w, http.StatusOK, out)
}

// readS3Body reads a PUT body, decoding the aws-chunked encoding the AWS
// CLI and SDKs may stream uploads with (signed chunks, or unsigned chunks
// with trailing checksums).
func readS3Body(r *http.Request) ([]byte, string) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxObject+1))
	if err != nil {
		return nil, "IncompleteBody"
	}
	if len(raw) > maxObject {
		return nil, "EntityTooLarge"
	}
	sha := r.Header.Get("X-Amz-Content-Sha256")
	if !strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") && !strings.HasPrefix(sha, "STREAMING-") {
		return raw, ""
	}
	data, ok := decodeAWSChunked(raw)
	if !ok {
		return nil, "IncompleteBody"
	}
	if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" {
		if n, err := strconv.Atoi(dl); err != nil || n != len(data) {
			return nil, "IncompleteBody"
		}
	}
	return data, ""
}

// decodeAWSChunked decodes "hex-size[;chunk-signature=...]\r\ndata\r\n"...
// up to the zero-size chunk (trailers after it are ignored).
func decodeAWSChunked(raw []byte) ([]byte, bool) {
	br := bufio.NewReader(bytes.NewReader(raw))
	var out []byte
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, false
		}
		sizeHex, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
		n, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || n < 0 || n > maxObject {
			return nil, false
		}
		if n == 0 {
			return out, true
		}
		chunk := make([]byte, n)
		if _, err := io.ReadFull(br, chunk); err != nil {
			return nil, false
		}
		out = append(out, chunk...)
		if crlf, err := br.ReadString('\n'); err != nil || strings.TrimRight(crlf, "\r\n") != "" {
			return nil, false
		}
	}
}
