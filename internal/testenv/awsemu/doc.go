// Package awsemu is a stateful local emulator of the parts of AWS a Lambda
// deployment uses: Lambda (REST-JSON), S3 (REST-XML, path-style or
// bucket.localhost) and STS (Query). It speaks the real wire protocols of
// aws-sdk-go-v2 and the AWS CLI on one endpoint, like LocalStack: a
// request goes to the service named by its SigV4 credential scope
// (Credential=AKID/20260101/us-east-1/lambda/aws4_request); an unsigned
// form POST with Action=AssumeRoleWithWebIdentity is STS.
//
// Credentials: AccessKeyID/SecretAccessKey, or temporary credentials its
// STS issued (AssumeRole, AssumeRoleWithWebIdentity; any JWT-shaped web
// identity token is accepted). Any other access key gets AWS's
// UnrecognizedClientException / InvalidAccessKeyId / InvalidClientTokenId.
// Signatures are not verified.
//
// Lambda is stateful: a new function is State Pending until
// Options.UpdateDelay has passed, then Active (LastUpdateStatus
// Successful); an update of code or configuration is LastUpdateStatus
// InProgress for the delay, then Successful, or Failed when FailNextUpdate
// asked for it. While Pending or InProgress, updates and PublishVersion get
// 409 ResourceConflictException. PublishVersion numbers versions 1, 2, ...
// and returns the last version when $LATEST has not changed since.
// Aliases route traffic with RoutingConfig.AdditionalVersionWeights;
// Invoke picks the version deterministically (the additional version gets
// exactly its share, spread evenly) and answers {"version":"N"} with
// X-Amz-Executed-Version. Inputs are validated and errors are worded as
// AWS words them; malformed JSON is an InvalidRequestContentException.
// GetFunction's Code.Location is a URL on the emulator that serves the
// zip.
//
// The control endpoint, for the emulator run out of process (make
// dev-cloud; see internal/testenv/cmd/testenv):
//
//	POST /_awsemu/fail-next-update?function=F&reason=R   FailNextUpdate
//	POST /_awsemu/throttle?n=N                           Throttle
//	POST /_awsemu/deny?action=lambda:UpdateFunctionCode  Deny ("" clears)
//	POST /_awsemu/delay?d=2s                             SetUpdateDelay
//	GET  /_awsemu/state                                  the functions, versions and aliases as JSON
//	GET  /_awsemu/code/FUNCTION/VERSION                  a version's zip (GetFunction's Code.Location)
//
// In testscript scripts, ScriptCmd is the awsemu command.
package awsemu
