// Package awsemu is a stateful local emulator of the parts of AWS a Lambda
// or ECS deployment uses: Lambda (REST-JSON), S3 (REST-XML, path-style or
// bucket.localhost), STS (Query), Amazon ECS (awsJson1_1), Elastic Load
// Balancing v2 (Query) and KMS (awsJson1_1), for sealed secrets. It speaks the real wire protocols of
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
// ECS is stateful too (ecs*.go): clusters, task definitions
// (family:revision), services and, for the EXTERNAL deployment controller,
// task sets. A task set's computedDesiredCount is ceil(scale% × the
// service's desiredCount); its tasks are PROVISIONING/PENDING until
// Options.UpdateDelay has passed, then RUNNING, and the task set goes from
// STABILIZING to STEADY_STATE; DescribeServices sums the task sets' counts
// and keeps events worded as ECS words them ("(service web, taskSet
// ecs-svc/...) has started 2 tasks: (task ...).", "(service web) has
// reached a steady state."). A service with the ECS controller gets
// deployments instead (rolloutState COMPLETED when steady). DeleteTaskSet
// drains the task set, gone after the delay. RunTask's tasks run and stop
// with exit code 0 within the delay. FailTasks makes the tasks of an
// image stop with a reason and exit code 1: their task set never
// stabilizes and the events say why. No transition happens within the
// request that scheduled it, so with UpdateDelay 0 a change is visible from
// the next request on.
//
// ELBv2 (elbv2*.go): load balancers, target groups, listeners and rules
// with forward actions (ForwardConfig.TargetGroups with weights 0..999, or
// TargetGroupArn), fixed-response and redirect actions, validated and
// worded as ELB does; DescribeTargetHealth lists the running tasks of the
// ECS task sets attached to a target group as healthy ip targets. SetupALB
// and Weights are the Go API for tests of traffic shifting.
//
// KMS (kms*.go): symmetric keys (SYMMETRIC_DEFAULT) and their aliases;
// CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey,
// ScheduleKeyDeletion (the key is refused while pending and gone after the
// window, its aliases with it), CancelKeyDeletion, CreateAlias,
// UpdateAlias, DeleteAlias, ListAliases, Encrypt (at most 4096 bytes),
// Decrypt, ReEncrypt, GenerateDataKey (KeySpec AES_256/AES_128 or
// NumberOfBytes), GenerateDataKeyWithoutPlaintext and GenerateRandom. A
// KeyId is a key ID, key ARN, alias/NAME or alias ARN (EnableKey and the
// other key administration take no alias, as KMS). Ciphertext blobs name
// their key and are AES-256-GCM under a secret of that key, the
// EncryptionContext bound, so an altered blob or another context is
// InvalidCiphertextException (without a message, as KMS), a KeyId other
// than the blob's key IncorrectKeyException, a disabled key
// DisabledException, a key pending deletion KMSInvalidStateException. The
// emulator does not serve asymmetric or HMAC keys, grants or key
// policies, nor list AWS managed aliases (alias/aws/...). CreateKMSKey
// and SetKMSKeyEnabled are the Go API for tests; Deny("kms:Decrypt")
// refuses an operation with AccessDeniedException naming the key.
//
// The control endpoint, for the emulator run out of process (make
// dev-cloud; see internal/testenv/cmd/testenv):
//
//	POST /_awsemu/fail-next-update?function=F&reason=R   FailNextUpdate
//	POST /_awsemu/throttle?n=N                           Throttle
//	POST /_awsemu/deny?action=lambda:UpdateFunctionCode  Deny ("" clears)
//	POST /_awsemu/delay?d=2s                             SetUpdateDelay
//	POST /_awsemu/fail-tasks?image=I&reason=R            FailTasks ("" clears)
//	POST /_awsemu/set-desired?cluster=C&service=S&n=N    SetDesiredCount
//	GET  /_awsemu/state                                  the functions, versions and aliases as JSON
//	GET  /_awsemu/code/FUNCTION/VERSION                  a version's zip (GetFunction's Code.Location)
//
// In testscript scripts, ScriptCmd is the awsemu command.
package awsemu
