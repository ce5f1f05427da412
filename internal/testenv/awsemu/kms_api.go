package awsemu

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The KMS wire protocol: awsJson1_1, POST / with X-Amz-Target
// TrentService.<Op>; blobs are base64 strings, timestamps epoch seconds.

const kmsTargetPrefix = "TrentService."

// maxKMSRequest bounds a request body (KMS's largest inputs are a few KiB).
const maxKMSRequest = 1 << 20

// kmsOps are the KMS operations the emulator serves. Each runs under e.mu.
var kmsOps = map[string]func(e *Emulator, body []byte) (any, *apiError){
	"CreateKey":                       (*Emulator).kmsCreateKey,
	"DescribeKey":                     (*Emulator).kmsDescribeKey,
	"ListKeys":                        (*Emulator).kmsListKeys,
	"EnableKey":                       (*Emulator).kmsEnableKey,
	"DisableKey":                      (*Emulator).kmsDisableKey,
	"ScheduleKeyDeletion":             (*Emulator).kmsScheduleKeyDeletion,
	"CancelKeyDeletion":               (*Emulator).kmsCancelKeyDeletion,
	"CreateAlias":                     (*Emulator).kmsCreateAlias,
	"UpdateAlias":                     (*Emulator).kmsUpdateAlias,
	"DeleteAlias":                     (*Emulator).kmsDeleteAlias,
	"ListAliases":                     (*Emulator).kmsListAliases,
	"Encrypt":                         (*Emulator).kmsEncrypt,
	"Decrypt":                         (*Emulator).kmsDecrypt,
	"ReEncrypt":                       (*Emulator).kmsReEncrypt,
	"GenerateDataKey":                 (*Emulator).kmsGenerateDataKey,
	"GenerateDataKeyWithoutPlaintext": (*Emulator).kmsGenerateDataKeyWithoutPlaintext,
	"GenerateRandom":                  (*Emulator).kmsGenerateRandom,
}

func kmsErr(code, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
}

// kmsInternal is a failure of the emulator itself (randomness, cipher
// setup), a KMSInternalException.
func kmsInternal(err error) *apiError {
	return &apiError{http.StatusInternalServerError, "KMSInternalException", err.Error()}
}

// writeKMSError writes an awsJson1_1 error as KMS does: {"__type": Code,
// "message": ...}. InvalidCiphertextException has no message, as KMS's
// has none.
func writeKMSError(w http.ResponseWriter, err *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", err.code)
	w.WriteHeader(err.status)
	body := map[string]string{"__type": err.code}
	if err.message != "" {
		body["message"] = err.message
	}
	_ = json.NewEncoder(w).Encode(body)
}

// serveKMS serves the awsJson1_1 protocol of KMS.
func (e *Emulator) serveKMS(w http.ResponseWriter, r *http.Request, c *call, auth authErr, region string) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, kmsTargetPrefix)
	c.operation = op
	switch {
	case auth == authUnknownKey:
		writeKMSError(w, kmsErr("UnrecognizedClientException", "The security token included in the request is invalid."))
		return
	case auth == authExpired:
		writeKMSError(w, kmsErr("ExpiredTokenException", "The security token included in the request is expired"))
		return
	case region != e.region:
		writeKMSError(w, &apiError{http.StatusBadRequest, "InvalidSignatureException", "Credential should be scoped to a valid region. "})
		return
	}
	fn := kmsOps[op]
	if r.Method != http.MethodPost || !ok || fn == nil {
		c.operation = ""
		writeKMSError(w, kmsErr("UnknownOperationException", "Operation is not supported: %s", target))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxKMSRequest))
	if err != nil {
		writeKMSError(w, kmsErr("SerializationException", "the request body is too large or unreadable"))
		return
	}
	denied := e.denied("kms:" + op)
	e.mu.Lock()
	e.settleKMS()
	var out any
	var aerr *apiError
	if denied {
		aerr = kmsErr("AccessDeniedException", "%s", deniedMessage(c.principal, "kms:"+op, e.kmsDeniedResource(body)))
	} else {
		out, aerr = fn(e, body)
	}
	reqID := e.uuid()
	e.mu.Unlock()
	w.Header().Set("X-Amzn-RequestId", reqID)
	if aerr != nil {
		writeKMSError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusOK)
	if out == nil {
		out = struct{}{}
	}
	_ = json.NewEncoder(w).Encode(out)
}

// kmsDeniedResource is the ARN of the key a denied request names, "*"
// when it names none that exists. Callers hold e.mu.
func (e *Emulator) kmsDeniedResource(body []byte) string {
	var in struct{ KeyId, TargetKeyId, DestinationKeyId string }
	_ = json.Unmarshal(body, &in)
	for _, ref := range []string{in.KeyId, in.TargetKeyId, in.DestinationKeyId} {
		if ref == "" {
			continue
		}
		if k, aerr := e.resolveKey(ref, true); aerr == nil {
			return k.arn
		}
	}
	return "*"
}

// decodeKMS reads a request body; malformed JSON, a member of the wrong
// type or a blob that is not base64 is a SerializationException.
func decodeKMS(body []byte, v any) *apiError {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return kmsErr("SerializationException", "Could not parse the request: %v", err)
	}
	return nil
}

// kmsCheck collects the constraint violations of an input.
type kmsCheck struct{ validation }

// keyID checks a required KeyId (1..2048 characters).
func (v *kmsCheck) keyID(member string, ref *string) {
	switch {
	case ref == nil:
		v.add(nil, member, "Member must not be null")
	case len(*ref) < 1:
		v.add(*ref, member, "Member must have length greater than or equal to 1")
	case len(*ref) > 2048:
		v.add(*ref, member, "Member must have length less than or equal to 2048")
	}
}

// blob checks a required blob of at most max bytes; the value is never
// quoted (KMS leaves sensitive members out of its messages).
func (v *kmsCheck) blob(member string, b []byte, present bool, max int) {
	switch {
	case !present:
		v.validation = append(v.validation, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", member))
	case len(b) < 1:
		v.validation = append(v.validation, fmt.Sprintf("Value at '%s' failed to satisfy constraint: Member must have length greater than or equal to 1", member))
	case len(b) > max:
		v.validation = append(v.validation, fmt.Sprintf("Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", member, max))
	}
}

// algorithm checks an EncryptionAlgorithm: the emulator's keys are
// symmetric, so only SYMMETRIC_DEFAULT (or none) works with them.
func (v *kmsCheck) algorithm(member string, alg *string) {
	if alg != nil && !slices.Contains([]string{"SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"}, *alg) {
		v.add(*alg, member, "Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]")
	}
}

func kmsSymmetricOnly(k *kmsKey, alg *string) *apiError {
	if alg != nil && *alg != "SYMMETRIC_DEFAULT" {
		return kmsErr("InvalidKeyUsageException", "You cannot use the encryption algorithm %s with %s: it is a symmetric encryption key (SYMMETRIC_DEFAULT).", *alg, k.arn)
	}
	return nil
}

// kmsBlobIn is a blob member that remembers whether it was present.
type kmsBlobIn struct {
	b       []byte
	present bool
}

func (b *kmsBlobIn) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	b.present = true
	return json.Unmarshal(data, &b.b)
}

type keyMetadataWire struct {
	AWSAccountId                string   `json:"AWSAccountId"`
	KeyId                       string   `json:"KeyId"`
	Arn                         string   `json:"Arn"`
	CreationDate                float64  `json:"CreationDate"`
	Enabled                     bool     `json:"Enabled"`
	Description                 string   `json:"Description"`
	KeyUsage                    string   `json:"KeyUsage"`
	KeyState                    string   `json:"KeyState"`
	DeletionDate                *float64 `json:"DeletionDate,omitempty"`
	PendingDeletionWindowInDays *int32   `json:"PendingDeletionWindowInDays,omitempty"`
	Origin                      string   `json:"Origin"`
	KeyManager                  string   `json:"KeyManager"`
	CustomerMasterKeySpec       string   `json:"CustomerMasterKeySpec"`
	KeySpec                     string   `json:"KeySpec"`
	EncryptionAlgorithms        []string `json:"EncryptionAlgorithms"`
	MultiRegion                 bool     `json:"MultiRegion"`
}

func (k *kmsKey) metadata() keyMetadataWire {
	m := keyMetadataWire{AWSAccountId: AccountID, KeyId: k.id, Arn: k.arn, CreationDate: epoch(k.created), Enabled: k.state() == kmsEnabled,
		Description: k.description, KeyUsage: "ENCRYPT_DECRYPT", KeyState: k.state(), Origin: "AWS_KMS", KeyManager: "CUSTOMER",
		CustomerMasterKeySpec: "SYMMETRIC_DEFAULT", KeySpec: "SYMMETRIC_DEFAULT", EncryptionAlgorithms: []string{"SYMMETRIC_DEFAULT"}}
	if !k.deletion.IsZero() {
		d, days := epoch(k.deletion), k.pendingDays
		m.DeletionDate, m.PendingDeletionWindowInDays = &d, &days
	}
	return m
}

func (e *Emulator) kmsCreateKey(body []byte) (any, *apiError) {
	var in struct {
		Description           *string  `json:"Description"`
		KeyUsage              *string  `json:"KeyUsage"`
		KeySpec               *string  `json:"KeySpec"`
		CustomerMasterKeySpec *string  `json:"CustomerMasterKeySpec"`
		Origin                *string  `json:"Origin"`
		MultiRegion           *bool    `json:"MultiRegion"`
		Tags                  []kmsTag `json:"Tags"`
		Policy                *string  `json:"Policy"`
	}
	if aerr := decodeKMS(body, &in); aerr != nil {
		return nil, aerr
	}
	var v kmsCheck
	specs := []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1",
		"SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2"}
	for member, spec := range map[string]*string{"keySpec": in.KeySpec, "customerMasterKeySpec": in.CustomerMasterKeySpec} {
		if spec != nil && !slices.Contains(specs, *spec) {
			v.add(*spec, member, "Member must satisfy enum value set: ["+strings.Join(specs, ", ")+"]")
		}
	}
	if in.KeyUsage != nil && !slices.Contains([]string{"SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"}, *in.KeyUsage) {
		v.add(*in.KeyUsage, "keyUsage", "Member must satisfy enum value set: [SIGN_VERIFY, ENCRYPT_DECRYPT, GENERATE_VERIFY_MAC, KEY_AGREEMENT]")
	}
	if in.Origin != nil && !slices.Contains([]string{"AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"}, *in.Origin) {
		v.add(*in.Origin, "origin", "Member must satisfy enum value set: [AWS_KMS, EXTERNAL, AWS_CLOUDHSM, EXTERNAL_KEY_STORE]")
	}
	if in.Description != nil && len(*in.Description) > 8192 {
		v.add(*in.Description, "description", "Member must have length less than or equal to 8192")
	}
	if len(in.Tags) > 50 {
		v.add(nil, "tags", "Member must have length less than or equal to 50")
	}
	if aerr := v.err(); aerr != nil {
		return nil, aerr
	}
	if in.KeySpec != nil && in.CustomerMasterKeySpec != nil {
		return nil, kmsErr("ValidationException", "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec parameter is deprecated. Use KeySpec instead.")
	}
	for _, spec := range []*string{in.KeySpec, in.CustomerMasterKeySpec} {
		if spec != nil && *spec != "SYMMETRIC_DEFAULT" {
			return nil, kmsErr("UnsupportedOperationException", "The emulator serves SYMMETRIC_DEFAULT keys only, not %s.", *spec)
		}
	}
	if in.KeyUsage != nil && *in.KeyUsage != "ENCRYPT_DECRYPT" {
		return nil, kmsErr("ValidationException", "KeyUsage %s is not compatible with KeySpec SYMMETRIC_DEFAULT", *in.KeyUsage)
	}
	if in.Origin != nil && *in.Origin != "AWS_KMS" {
		return nil, kmsErr("UnsupportedOperationException", "The emulator creates keys of Origin AWS_KMS only, not %s.", *in.Origin)
	}
	if in.MultiRegion != nil && *in.MultiRegion {
		return nil, kmsErr("UnsupportedOperationException", "The emulator does not create multi-Region keys.")
	}
	for _, t := range in.Tags {
		if t.TagKey == "" || len(t.TagKey) > 128 || len(t.TagValue) > 256 {
			return nil, kmsErr("TagException", "Tag keys must be 1 to 128 characters and tag values at most 256 characters.")
		}
		if strings.HasPrefix(t.TagKey, "aws:") {
			return nil, kmsErr("TagException", "Tags beginning with aws: are reserved.")
		}
	}
	desc := ""
	if in.Description != nil {
		desc = *in.Description
	}
	k, err := e.newKMSKey(desc, slices.Clone(in.Tags))
	if err != nil {
		return nil, kmsInternal(err)
	}
	return map[string]any{"KeyMetadata": k.metadata()}, nil
}

// kmsKeyInput is the input of the operations that take just a KeyId.
type kmsKeyInput struct {
	KeyId *string `json:"KeyId"`
}

// kmsOneKey decodes a keyInput and resolves it.
func (e *Emulator) kmsOneKey(body []byte, aliases bool) (*kmsKey, *apiError) {
	var in kmsKeyInput
	if aerr := decodeKMS(body, &in); aerr != nil {
		return nil, aerr
	}
	var v kmsCheck
	v.keyID("keyId", in.KeyId)
	if aerr := v.err(); aerr != nil {
		return nil, aerr
	}
	return e.resolveKey(*in.KeyId, aliases)
}

func (e *Emulator) kmsDescribeKey(body []byte) (any, *apiError) {
	k, aerr := e.kmsOneKey(body, true)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{"KeyMetadata": k.metadata()}, nil
}

// kmsPage cuts a list at Marker (an index the previous page returned) and
// Limit (1..1000, default 100).
func kmsPage[T any](items []T, limit *int32, marker *string) ([]T, map[string]any, *apiError) {
	var v kmsCheck
	n := 100
	if limit != nil {
		switch {
		case *limit < 1:
			v.add(*limit, "limit", "Member must have value greater than or equal to 1")
		case *limit > 1000:
			v.add(*limit, "limit", "Member must have value less than or equal to 1000")
		}
		n = int(*limit)
	}
	if aerr := v.err(); aerr != nil {
		return nil, nil, aerr
	}
	start := 0
	if marker != nil {
		i, err := strconv.Atoi(*marker)
		if err != nil || i < 0 || i > len(items) {
			return nil, nil, kmsErr("InvalidMarkerException", "Invalid marker: use the NextMarker of the previous response.")
		}
		start = i
	}
	end := min(start+n, len(items))
	out := map[string]any{"Truncated": end < len(items)}
	if end < len(items) {
		out["NextMarker"] = strconv.Itoa(end)
	}
	return items[start:end], out, nil
}

func (e *Emulator) kmsListKeys(body []byte) (any, *apiError) {
	var in struct {
		Limit  *int32  `json:"Limit"`
		Marker *string `json:"Marker"`
	}
	if aerr := decodeKMS(body, &in); aerr != nil {
		return nil, aerr
	}
	type keyEntry struct {
		KeyId  string `json:"KeyId"`
		KeyArn string `json:"KeyArn"`
	}
	all := []keyEntry{}
	for _, id := range e.kms.order {
		all = append(all, keyEntry{id, e.kms.keys[id].arn})
	}
	keys, out, aerr := kmsPage(all, in.Limit, in.Marker)
	if aerr != nil {
		return nil, aerr
	}
	out["Keys"] = keys
	return out, nil
}

// kmsAdminKey resolves the KeyId of EnableKey, DisableKey,
// ScheduleKeyDeletion and CancelKeyDeletion: a key ID or key ARN, as KMS
// takes for them (no alias).
func (e *Emulator) kmsAdminKey(body []byte) (*kmsKey, *apiError) {
	return e.kmsOneKey(body, false)
}

func (e *Emulator) kmsEnableKey(body []byte) (any, *apiError) {
	return e.kmsSetEnabled(body, true)
}

func (e *Emulator) kmsDisableKey(body []byte) (any, *apiError) {
	return e.kmsSetEnabled(body, false)
}

// kmsSetEnabled serves EnableKey and DisableKey.
func (e *Emulator) kmsSetEnabled(body []byte, enabled bool) (any, *apiError) {
	k, aerr := e.kmsAdminKey(body)
	if aerr != nil {
		return nil, aerr
	}
	return nil, k.setEnabled(enabled)
}

func (e *Emulator) kmsScheduleKeyDeletion(body []byte) (any, *apiError) {
	var in struct {
		KeyId               *string `json:"KeyId"`
		PendingWindowInDays *int32  `json:"PendingWindowInDays"`
	}
	if aerr := decodeKMS(body, &in); aerr != nil {
		return nil, aerr
	}
	var v kmsCheck
	v.keyID("keyId", in.KeyId)
	days := int32(30)
	if in.PendingWindowInDays != nil {
		days = *in.PendingWindowInDays
		switch {
		case days < 7:
			v.add(days, "pendingWindowInDays", "Member must have value greater than or equal to 7")
		case days > 30:
			v.add(days, "pendingWindowInDays", "Member must have value less than or equal to 30")
		}
	}
	if aerr := v.err(); aerr != nil {
		return nil, aerr
	}
	k, aerr := e.resolveKey(*in.KeyId, false)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := k.notPendingDeletion(); aerr != nil {
		return nil, aerr
	}
	k.deletion, k.pendingDays = e.now().Add(time.Duration(days)*24*time.Hour), days
	return map[string]any{"KeyId": k.arn, "DeletionDate": epoch(k.deletion), "KeyState": kmsPendingDeletion, "PendingWindowInDays": days}, nil
}

func (e *Emulator) kmsCancelKeyDeletion(body []byte) (any, *apiError) {
	k, aerr := e.kmsAdminKey(body)
	if aerr != nil {
		return nil, aerr
	}
	if k.state() != kmsPendingDeletion {
		return nil, kmsErr("KMSInvalidStateException", "%s is not pending deletion.", k.arn)
	}
	// As KMS: a key whose deletion was canceled is Disabled.
	k.deletion, k.pendingDays, k.enabled = time.Time{}, 0, false
	return map[string]any{"KeyId": k.arn}, nil
}

// checkAliasName checks an alias name as CreateAlias does. Callers hold
// e.mu.
func (e *Emulator) checkAliasName(name string) *apiError {
	switch {
	case len(name) > 256:
		return kmsErr("ValidationException", "1 validation error detected: Value '%s' at 'aliasName' failed to satisfy constraint: Member must have length less than or equal to 256", name)
	case !strings.HasPrefix(name, "alias/"):
		return kmsErr("ValidationException", `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`)
	case strings.HasPrefix(name, "alias/aws/"):
		return kmsErr("NotAuthorizedException", "Cannot create alias with prefix 'alias/aws/': it is reserved for AWS managed keys.")
	case name == "alias/" || !kmsAliasNameRE.MatchString(name):
		return kmsErr("ValidationException", "1 validation error detected: Value '%s' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$", name)
	}
	return nil
}

type kmsAliasInput struct {
	AliasName   *string `json:"AliasName"`
	TargetKeyId *string `json:"TargetKeyId"`
}

// decodeAliasInput decodes the input of CreateAlias, UpdateAlias (target
// set: TargetKeyId is required) and DeleteAlias, and checks its members.
func decodeAliasInput(body []byte, target bool) (kmsAliasInput, *apiError) {
	var in kmsAliasInput
	if aerr := decodeKMS(body, &in); aerr != nil {
		return in, aerr
	}
	var v kmsCheck
	v.keyID("aliasName", in.AliasName)
	if target {
		v.keyID("targetKeyId", in.TargetKeyId)
	}
	return in, v.err()
}

// aliasTarget resolves the TargetKeyId of CreateAlias and UpdateAlias: a
// key ID or key ARN of a key not pending deletion.
func (e *Emulator) aliasTarget(ref string) (*kmsKey, *apiError) {
	if strings.HasPrefix(ref, "alias/") || strings.Contains(ref, ":alias/") {
		return nil, kmsErr("ValidationException", "Aliases must refer to keys. Not aliases")
	}
	k, aerr := e.resolveKey(ref, false)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := k.notPendingDeletion(); aerr != nil {
		return nil, aerr
	}
	return k, nil
}

func (e *Emulator) kmsCreateAlias(body []byte) (any, *apiError) {
	in, aerr := decodeAliasInput(body, true)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := e.checkNewAlias(*in.AliasName); aerr != nil {
		return nil, aerr
	}
	k, aerr := e.aliasTarget(*in.TargetKeyId)
	if aerr != nil {
		return nil, aerr
	}
	e.addAlias(*in.AliasName, k)
	return nil, nil
}

func (e *Emulator) kmsUpdateAlias(body []byte) (any, *apiError) {
	in, aerr := decodeAliasInput(body, true)
	if aerr != nil {
		return nil, aerr
	}
	a := e.kms.aliases[*in.AliasName]
	if a == nil {
		return nil, kmsErr("NotFoundException", "Alias %s is not found.", e.kmsARN(*in.AliasName))
	}
	k, aerr := e.aliasTarget(*in.TargetKeyId)
	if aerr != nil {
		return nil, aerr
	}
	a.target, a.updated = k.id, e.now()
	return nil, nil
}

func (e *Emulator) kmsDeleteAlias(body []byte) (any, *apiError) {
	in, aerr := decodeAliasInput(body, false)
	if aerr != nil {
		return nil, aerr
	}
	if e.kms.aliases[*in.AliasName] == nil {
		return nil, kmsErr("NotFoundException", "Alias %s is not found.", e.kmsARN(*in.AliasName))
	}
	delete(e.kms.aliases, *in.AliasName)
	return nil, nil
}

func (e *Emulator) kmsListAliases(body []byte) (any, *apiError) {
	var in struct {
		KeyId  *string `json:"KeyId"`
		Limit  *int32  `json:"Limit"`
		Marker *string `json:"Marker"`
	}
	if aerr := decodeKMS(body, &in); aerr != nil {
		return nil, aerr
	}
	target := ""
	if in.KeyId != nil {
		k, aerr := e.resolveKey(*in.KeyId, false)
		if aerr != nil {
			return nil, aerr
		}
		target = k.id
	}
	type aliasEntry struct {
		AliasName       string  `json:"AliasName"`
		AliasArn        string  `json:"AliasArn"`
		TargetKeyId     string  `json:"TargetKeyId"`
		CreationDate    float64 `json:"CreationDate"`
		LastUpdatedDate float64 `json:"LastUpdatedDate"`
	}
	all := []aliasEntry{}
	for _, name := range sortedKeys(e.kms.aliases) {
		a := e.kms.aliases[name]
		if target == "" || a.target == target {
			all = append(all, aliasEntry{a.name, e.kmsARN(a.name), a.target, epoch(a.created), epoch(a.updated)})
		}
	}
	aliases, out, aerr := kmsPage(all, in.Limit, in.Marker)
	if aerr != nil {
		return nil, aerr
	}
	out["Aliases"] = aliases
	return out, nil
}

// kmsUseKey resolves the KeyId of a cryptographic operation (any form) and
// checks the key may be used.
func (e *Emulator) kmsUseKey(ref string) (*kmsKey, *apiError) {
	k, aerr := e.resolveKey(ref, true)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := k.usable(); aerr != nil {
		return nil, aerr
	}
	return k, nil
}

func (e *Emulator) kmsEncrypt(body []byte) (any, *apiError) {
	var in struct {
		KeyId               *string           `json:"KeyId"`
		Plaintext           kmsBlobIn         `json:"Plaintext"`
		EncryptionContext   map[string]string `json:"EncryptionContext"`
		EncryptionAlgorithm *string           `json:"EncryptionAlgorithm"`
		GrantTokens         []string          `json:"GrantTokens"`
	}
	if aerr := decodeKMS(body, &in); aerr != nil {
		return nil, aerr
	}
	var v kmsCheck
	v.keyID("keyId", in.KeyId)
	v.blob("plaintext", in.Plaintext.b, in.Plaintext.present, 4096)
	v.algorithm("encryptionAlgorithm", in.EncryptionAlgorithm)
	if aerr := v.err(); aerr != nil {
		return nil, aerr
	}
	k, aerr := e.kmsUseKey(*in.KeyId)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := kmsSymmetricOnly(k, in.EncryptionAlgorithm); aerr != nil {
		return nil, aerr
	}
	blob, err := k.seal(in.Plaintext.b, in.EncryptionContext)
	if err != nil {
		return nil, kmsInternal(err)
	}
	return map[string]any{"CiphertextBlob": blob, "KeyId": k.arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

// kmsOpenBlob decrypts a ciphertext blob: the key it names must exist and be
// usable, and be the key keyID names when keyID is not nil
// (IncorrectKeyException otherwise, as KMS).
func (e *Emulator) kmsOpenBlob(blob []byte, keyID *string, context map[string]string) (*kmsKey, []byte, *apiError) {
	var named *kmsKey
	if keyID != nil {
		k, aerr := e.resolveKey(*keyID, true)
		if aerr != nil {
			return nil, nil, aerr
		}
		named = k
	}
	id, ok := blobKeyID(blob)
	if !ok {
		return nil, nil, kmsErr("InvalidCiphertextException", "")
	}
	k := e.kms.keys[id]
	if named != nil && named != k {
		return nil, nil, kmsErr("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
	}
	if k == nil {
		// A blob of a key this emulator does not hold (another run's, or
		// altered): it cannot be authenticated.
		return nil, nil, kmsErr("InvalidCiphertextException", "")
	}
	if aerr := k.usable(); aerr != nil {
		return nil, nil, aerr
	}
	pt, err := k.open(blob, context)
	if err != nil {
		return nil, nil, kmsErr("InvalidCiphertextException", "")
	}
	return k, pt, nil
}

func (e *Emulator) kmsDecrypt(body []byte) (any, *apiError) {
	var in struct {
		CiphertextBlob      kmsBlobIn         `json:"CiphertextBlob"`
		KeyId               *string           `json:"KeyId"`
		EncryptionContext   map[string]string `json:"EncryptionContext"`
		EncryptionAlgorithm *string           `json:"EncryptionAlgorithm"`
		GrantTokens         []string          `json:"GrantTokens"`
	}
	if aerr := decodeKMS(body, &in); aerr != nil {
		return nil, aerr
	}
	var v kmsCheck
	v.blob("ciphertextBlob", in.CiphertextBlob.b, in.CiphertextBlob.present, 6144)
	if in.KeyId != nil {
		v.keyID("keyId", in.KeyId)
	}
	v.algorithm("encryptionAlgorithm", in.EncryptionAlgorithm)
	if aerr := v.err(); aerr != nil {
		return nil, aerr
	}
	k, pt, aerr := e.kmsOpenBlob(in.CiphertextBlob.b, in.KeyId, in.EncryptionContext)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := kmsSymmetricOnly(k, in.EncryptionAlgorithm); aerr != nil {
		return nil, aerr
	}
	return map[string]any{"KeyId": k.arn, "Plaintext": pt, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

func (e *Emulator) kmsReEncrypt(body []byte) (any, *apiError) {
	var in struct {
		CiphertextBlob                 kmsBlobIn         `json:"CiphertextBlob"`
		SourceKeyId                    *string           `json:"SourceKeyId"`
		SourceEncryptionContext        map[string]string `json:"SourceEncryptionContext"`
		SourceEncryptionAlgorithm      *string           `json:"SourceEncryptionAlgorithm"`
		DestinationKeyId               *string           `json:"DestinationKeyId"`
		DestinationEncryptionContext   map[string]string `json:"DestinationEncryptionContext"`
		DestinationEncryptionAlgorithm *string           `json:"DestinationEncryptionAlgorithm"`
		GrantTokens                    []string          `json:"GrantTokens"`
	}
	if aerr := decodeKMS(body, &in); aerr != nil {
		return nil, aerr
	}
	var v kmsCheck
	v.blob("ciphertextBlob", in.CiphertextBlob.b, in.CiphertextBlob.present, 6144)
	v.keyID("destinationKeyId", in.DestinationKeyId)
	if in.SourceKeyId != nil {
		v.keyID("sourceKeyId", in.SourceKeyId)
	}
	v.algorithm("sourceEncryptionAlgorithm", in.SourceEncryptionAlgorithm)
	v.algorithm("destinationEncryptionAlgorithm", in.DestinationEncryptionAlgorithm)
	if aerr := v.err(); aerr != nil {
		return nil, aerr
	}
	src, pt, aerr := e.kmsOpenBlob(in.CiphertextBlob.b, in.SourceKeyId, in.SourceEncryptionContext)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := kmsSymmetricOnly(src, in.SourceEncryptionAlgorithm); aerr != nil {
		return nil, aerr
	}
	dst, aerr := e.kmsUseKey(*in.DestinationKeyId)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := kmsSymmetricOnly(dst, in.DestinationEncryptionAlgorithm); aerr != nil {
		return nil, aerr
	}
	blob, err := dst.seal(pt, in.DestinationEncryptionContext)
	clear(pt)
	if err != nil {
		return nil, kmsInternal(err)
	}
	return map[string]any{"CiphertextBlob": blob, "SourceKeyId": src.arn, "KeyId": dst.arn,
		"SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT", "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

// kmsDataKeyInput is the input of GenerateDataKey and
// GenerateDataKeyWithoutPlaintext.
type kmsDataKeyInput struct {
	KeyId             *string           `json:"KeyId"`
	KeySpec           *string           `json:"KeySpec"`
	NumberOfBytes     *int32            `json:"NumberOfBytes"`
	EncryptionContext map[string]string `json:"EncryptionContext"`
	GrantTokens       []string          `json:"GrantTokens"`
}

// kmsDataKey generates a data key and its blob.
func (e *Emulator) kmsDataKey(body []byte) (*kmsKey, []byte, []byte, *apiError) {
	var in kmsDataKeyInput
	if aerr := decodeKMS(body, &in); aerr != nil {
		return nil, nil, nil, aerr
	}
	var v kmsCheck
	v.keyID("keyId", in.KeyId)
	if in.KeySpec != nil && *in.KeySpec != "AES_256" && *in.KeySpec != "AES_128" {
		v.add(*in.KeySpec, "keySpec", "Member must satisfy enum value set: [AES_256, AES_128]")
	}
	kmsCheckBytes(&v, in.NumberOfBytes)
	if aerr := v.err(); aerr != nil {
		return nil, nil, nil, aerr
	}
	if (in.KeySpec == nil) == (in.NumberOfBytes == nil) {
		return nil, nil, nil, kmsErr("ValidationException", "Please specify either number of bytes or key spec.")
	}
	k, aerr := e.kmsUseKey(*in.KeyId)
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	n := 32
	switch {
	case in.NumberOfBytes != nil:
		n = int(*in.NumberOfBytes)
	case *in.KeySpec == "AES_128":
		n = 16
	}
	pt := make([]byte, n)
	if _, err := rand.Read(pt); err != nil {
		return nil, nil, nil, kmsInternal(err)
	}
	blob, err := k.seal(pt, in.EncryptionContext)
	if err != nil {
		return nil, nil, nil, kmsInternal(err)
	}
	return k, pt, blob, nil
}

func kmsCheckBytes(v *kmsCheck, n *int32) {
	if n == nil {
		return
	}
	switch {
	case *n < 1:
		v.add(*n, "numberOfBytes", "Member must have value greater than or equal to 1")
	case *n > 1024:
		v.add(*n, "numberOfBytes", "Member must have value less than or equal to 1024")
	}
}

func (e *Emulator) kmsGenerateDataKey(body []byte) (any, *apiError) {
	k, pt, blob, aerr := e.kmsDataKey(body)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{"CiphertextBlob": blob, "Plaintext": pt, "KeyId": k.arn}, nil
}

func (e *Emulator) kmsGenerateDataKeyWithoutPlaintext(body []byte) (any, *apiError) {
	k, pt, blob, aerr := e.kmsDataKey(body)
	if aerr != nil {
		return nil, aerr
	}
	clear(pt)
	return map[string]any{"CiphertextBlob": blob, "KeyId": k.arn}, nil
}

func (e *Emulator) kmsGenerateRandom(body []byte) (any, *apiError) {
	var in struct {
		NumberOfBytes *int32 `json:"NumberOfBytes"`
	}
	if aerr := decodeKMS(body, &in); aerr != nil {
		return nil, aerr
	}
	var v kmsCheck
	kmsCheckBytes(&v, in.NumberOfBytes)
	if aerr := v.err(); aerr != nil {
		return nil, aerr
	}
	if in.NumberOfBytes == nil {
		return nil, kmsErr("ValidationException", "NumberOfBytes is a required parameter.")
	}
	b := make([]byte, *in.NumberOfBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, kmsInternal(err)
	}
	return map[string]any{"Plaintext": b}, nil
}
