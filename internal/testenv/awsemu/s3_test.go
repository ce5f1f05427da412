package awsemu_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

func signed(req *http.Request, service string) {
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+awsemu.AccessKeyID+"/20260101/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=00")
}

func TestS3AWSChunkedUpload(t *testing.T) {
	emu, srv := awsemu.Start(awsemu.Options{})
	defer srv.Close()
	body := "5;chunk-signature=abc\r\nhello\r\n6;chunk-signature=def\r\n world\r\n0;chunk-signature=00\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/a/key.txt", strings.NewReader(body))
	signed(req, "s3")
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	req.Header.Set("X-Amz-Decoded-Content-Length", "11")
	emu.PutObject("bucket", "other", []byte("x")) // creates the bucket
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.Header.Get("X-Amz-Version-Id")) != 32 {
		t.Fatalf("put: %d %v", resp.StatusCode, resp.Header)
	}
	if got, _ := emu.GetObject("bucket", "a/key.txt"); string(got) != "hello world" {
		t.Fatalf("stored %q", got)
	}
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/bucket/missing", nil)
	signed(req, "s3")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), "<Code>NoSuchKey</Code>") {
		t.Fatalf("missing: %d %s", resp.StatusCode, b)
	}
}
