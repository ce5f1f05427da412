package awsemu

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// session is a set of temporary credentials the emulator's STS issued.
type session struct {
	arn     string
	token   string
	expires time.Time
}

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

type stsErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func (e *Emulator) writeSTSError(w http.ResponseWriter, status int, code, message string) {
	out := stsErrorResponse{Xmlns: stsNamespace, RequestID: e.lockedUUID()}
	out.Error.Type, out.Error.Code, out.Error.Message = "Sender", code, message
	writeXML(w, status, out)
}

func (e *Emulator) lockedUUID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.uuid()
}

type stsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

// serveSTS serves the Query protocol: Action and its parameters in a form
// body (or the query), XML responses.
func (e *Emulator) serveSTS(w http.ResponseWriter, r *http.Request, c *call, auth ...authErr) {
	if err := r.ParseForm(); err != nil {
		e.writeSTSError(w, http.StatusBadRequest, "MalformedInput", "The request body could not be parsed.")
		return
	}
	form := r.Form
	action := form.Get("Action")
	c.operation = action
	if len(auth) > 0 {
		switch auth[0] {
		case authUnknownKey:
			e.writeSTSError(w, http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
			return
		case authExpired:
			e.writeSTSError(w, http.StatusBadRequest, "ExpiredToken", "The security token included in the request is expired")
			return
		}
	}
	switch action {
	case "GetCallerIdentity":
		if e.denied("sts:GetCallerIdentity") {
			e.writeSTSError(w, http.StatusForbidden, "AccessDenied", deniedMessage(c.principal, "sts:GetCallerIdentity", c.principal))
			return
		}
		type result struct {
			Arn     string `xml:"Arn"`
			UserID  string `xml:"UserId"`
			Account string `xml:"Account"`
		}
		userID := "AIDAPIPEEMULATOR00001"
		if _, role, ok := strings.Cut(c.principal, ":assumed-role/"); ok {
			name, sess, _ := strings.Cut(role, "/")
			userID = roleID(name) + ":" + sess
		}
		writeXML(w, http.StatusOK, struct {
			XMLName  xml.Name         `xml:"GetCallerIdentityResponse"`
			Xmlns    string           `xml:"xmlns,attr"`
			Result   result           `xml:"GetCallerIdentityResult"`
			Metadata responseMetadata `xml:"ResponseMetadata"`
		}{Xmlns: stsNamespace, Result: result{c.principal, userID, AccountID}, Metadata: responseMetadata{e.lockedUUID()}})
	case "AssumeRole", "AssumeRoleWithWebIdentity":
		e.assumeRole(w, c, action, form.Get("RoleArn"), form.Get("RoleSessionName"), form.Get("DurationSeconds"), form.Get("WebIdentityToken"))
	case "":
		e.writeSTSError(w, http.StatusBadRequest, "MissingAction", "Missing Action")
	default:
		e.writeSTSError(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version 2011-06-15", action))
	}
}

func (e *Emulator) assumeRole(w http.ResponseWriter, c *call, action, roleArn, sessionName, durationText, token string) {
	var v validation
	if roleArn == "" {
		v.add(nil, "roleArn", "Member must not be null")
	} else if !roleRE.MatchString(roleArn) {
		v.add(roleArn, "roleArn", `Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`)
	}
	if sessionName == "" {
		v.add(nil, "roleSessionName", "Member must not be null")
	} else if len(sessionName) < 2 || len(sessionName) > 64 || strings.ContainsFunc(sessionName, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_=,.@-", r))
	}) {
		v.add(sessionName, "roleSessionName", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	duration := 3600
	if durationText != "" {
		n, err := strconv.Atoi(durationText)
		switch {
		case err != nil:
			v.add(durationText, "durationSeconds", "Member must be a number")
		case n < 900:
			v.add(n, "durationSeconds", "Member must have value greater than or equal to 900")
		case n > 43200:
			v.add(n, "durationSeconds", "Member must have value less than or equal to 43200")
		default:
			duration = n
		}
	}
	if action == "AssumeRoleWithWebIdentity" && token == "" {
		v.add(nil, "webIdentityToken", "Member must not be null")
	}
	if err := v.err(); err != nil {
		e.writeSTSError(w, http.StatusBadRequest, "ValidationError", err.message)
		return
	}
	if e.denied("sts:" + action) {
		if action == "AssumeRoleWithWebIdentity" {
			e.writeSTSError(w, http.StatusForbidden, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
		} else {
			e.writeSTSError(w, http.StatusForbidden, "AccessDenied", deniedMessage(c.principal, "sts:AssumeRole", roleArn))
		}
		return
	}
	subject := ""
	if action == "AssumeRoleWithWebIdentity" {
		var ok bool
		if subject, ok = jwtSubject(token); !ok {
			e.writeSTSError(w, http.StatusBadRequest, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements")
			return
		}
	}
	_, path, _ := strings.Cut(roleArn, ":role/")
	roleName := path[strings.LastIndex(path, "/")+1:]
	arn := "arn:aws:sts::" + AccountID + ":assumed-role/" + roleName + "/" + sessionName
	e.mu.Lock()
	h := strings.ToUpper(e.nextID("akid"))
	s := &session{arn: arn, token: base64.StdEncoding.EncodeToString([]byte("FwoGZXIvYXdzE" + e.nextID("token") + e.nextID("token"))), expires: e.now().Add(time.Duration(duration) * time.Second)}
	akid := "ASIA" + h[:16]
	e.sessions[akid] = s
	secret := e.nextID("secret")[:40]
	reqID := e.uuid()
	e.mu.Unlock()
	creds := stsCredentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: s.token, Expiration: s.expires.UTC().Format(time.RFC3339)}
	user := assumedRoleUser{AssumedRoleID: roleID(roleName) + ":" + sessionName, Arn: arn}
	if action == "AssumeRole" {
		writeXML(w, http.StatusOK, struct {
			XMLName xml.Name `xml:"AssumeRoleResponse"`
			Xmlns   string   `xml:"xmlns,attr"`
			Result  struct {
				Credentials     stsCredentials  `xml:"Credentials"`
				AssumedRoleUser assumedRoleUser `xml:"AssumedRoleUser"`
			} `xml:"AssumeRoleResult"`
			Metadata responseMetadata `xml:"ResponseMetadata"`
		}{Xmlns: stsNamespace, Result: struct {
			Credentials     stsCredentials  `xml:"Credentials"`
			AssumedRoleUser assumedRoleUser `xml:"AssumedRoleUser"`
		}{creds, user}, Metadata: responseMetadata{reqID}})
		return
	}
	type result struct {
		Credentials                 stsCredentials  `xml:"Credentials"`
		SubjectFromWebIdentityToken string          `xml:"SubjectFromWebIdentityToken"`
		AssumedRoleUser             assumedRoleUser `xml:"AssumedRoleUser"`
		Provider                    string          `xml:"Provider"`
		Audience                    string          `xml:"Audience"`
	}
	writeXML(w, http.StatusOK, struct {
		XMLName  xml.Name         `xml:"AssumeRoleWithWebIdentityResponse"`
		Xmlns    string           `xml:"xmlns,attr"`
		Result   result           `xml:"AssumeRoleWithWebIdentityResult"`
		Metadata responseMetadata `xml:"ResponseMetadata"`
	}{Xmlns: stsNamespace, Result: result{creds, subject, user, "arn:aws:iam::" + AccountID + ":oidc-provider/token.actions.githubusercontent.com", "sts.amazonaws.com"}, Metadata: responseMetadata{reqID}})
}

// roleID is a stable AROA... ID for a role name.
func roleID(name string) string {
	h := strings.ToUpper(fmt.Sprintf("%x", []byte(name+"0123456789abcdef")))
	return "AROA" + h[:17]
}

// jwtSubject reads the sub claim of a JWT-shaped token (the signature is
// not checked).
func jwtSubject(token string) (string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", false
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return "", false
	}
	return claims.Sub, true
}
