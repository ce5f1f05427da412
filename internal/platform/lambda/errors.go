package lambda

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/gitops-pipe/pipe/internal/redact"
)

// apiError turns an error of a Lambda call (action, e.g.
// "UpdateFunctionCode") about function fn into a sentence naming the
// function and what to do.
func apiError(action, fn string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("lambda:%s of function %s: %w", action, fn, redact.Error(err))
	}
	msg := ae.ErrorMessage()
	var hint string
	switch ae.ErrorCode() {
	case "AccessDeniedException", "AccessDenied":
		hint = fmt.Sprintf("grant lambda:%s on function %s to the identity pipe runs as (the platform provider's role or the job's credentials)", action, fn)
		if strings.Contains(msg, "iam:PassRole") {
			hint = "grant iam:PassRole on the function's execution role (spec.role) to the identity pipe runs as"
		}
	case "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
		hint = "the AWS credentials are invalid or expired: check the platform provider's credentials and the job's AWS_* variables"
	case "ResourceNotFoundException":
		hint = fmt.Sprintf("check spec.name of the function manifest and the region (function %s)", fn)
	case "ResourceConflictException":
		hint = "another update of the function is in progress; run the deployment again once it is done"
	case "TooManyRequestsException", "ThrottlingException":
		hint = "AWS throttled the calls even after retries; run the deployment again later"
	case "InvalidParameterValueException", "ValidationException":
		hint = "fix the function manifest"
		if strings.Contains(msg, "role") && strings.Contains(msg, "assume") {
			hint = "the execution role (spec.role) must exist and trust lambda.amazonaws.com (AWS may also need a few seconds after the role is created)"
		}
	case "CodeStorageExceededException":
		hint = "delete old versions of the function (or other functions' code) to free the account's code storage"
	case "ServiceException":
		hint = "AWS Lambda failed; run the deployment again"
	}
	s := fmt.Sprintf("lambda:%s of function %s: %s: %s", action, fn, ae.ErrorCode(), strings.TrimSpace(msg))
	if hint != "" {
		s += " (" + hint + ")"
	}
	return &awsError{msg: s, code: ae.ErrorCode(), err: err}
}

type awsError struct {
	msg, code string
	err       error
}

func (e *awsError) Error() string { return e.msg }
func (e *awsError) Unwrap() error { return e.err }

// isCode reports whether err is an AWS error with one of codes.
func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}
