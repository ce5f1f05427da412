package lambda

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

func TestAPIErrorSentences(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want []string
	}{
		{&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:aws:sts::1:assumed-role/ci/x is not authorized to perform: lambda:UpdateAlias on resource: arn:aws:lambda:us-east-1:1:function:fn"},
			[]string{"lambda:UpdateAlias of function fn: AccessDeniedException: User: arn:aws:sts::1:assumed-role/ci/x", "grant lambda:UpdateAlias on function fn"}},
		{&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:aws:sts::1:assumed-role/ci/x is not authorized to perform: iam:PassRole on resource: arn:aws:iam::1:role/fn"},
			[]string{"grant iam:PassRole on the function's execution role (spec.role)"}},
		{&smithy.GenericAPIError{Code: "InvalidParameterValueException", Message: "The role defined for the function cannot be assumed by Lambda."},
			[]string{"must exist and trust lambda.amazonaws.com"}},
		{&smithy.GenericAPIError{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
			[]string{"the AWS credentials are invalid or expired"}},
		{&smithy.GenericAPIError{Code: "TooManyRequestsException", Message: "Rate exceeded"}, []string{"throttled the calls even after retries"}},
		{errors.New("dial tcp 127.0.0.1:1: connection refused"), []string{"lambda:UpdateAlias of function fn: dial tcp"}},
	} {
		action := "UpdateAlias"
		got := apiError(action, "fn", tc.err).Error()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q lacks %q", got, w)
			}
		}
	}
	if apiError("X", "fn", nil) != nil {
		t.Error("nil error")
	}
	if err := apiError("X", "fn", context.Canceled); !errors.Is(err, context.Canceled) || err.Error() != context.Canceled.Error() {
		t.Errorf("cancellation is passed on as is: %v", err)
	}
}
