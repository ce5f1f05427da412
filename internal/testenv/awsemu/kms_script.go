package awsemu

import (
	"fmt"

	"github.com/rogpeppe/go-internal/testscript"
)

// kmsScriptCmd runs the KMS subcommands of ScriptCmd; false when args[0]
// is not one.
//
//	awsemu kms-key ALIAS     create a symmetric key and alias/ALIAS of it; print the key's ARN and set
//	                         KMS_KEY_ARN to it
//	awsemu kms-disable KEY   disable the key KEY names (key ID, key ARN, alias name or alias ARN)
func kmsScriptCmd(ts *testscript.TestScript, e *Emulator, args []string) bool {
	switch args[0] {
	case "kms-key":
		if len(args) != 2 {
			ts.Fatalf("usage: awsemu kms-key ALIAS")
		}
		arn, err := e.CreateKMSKey(args[1])
		if err != nil {
			ts.Fatalf("awsemu kms-key %s: %v", args[1], err)
		}
		ts.Setenv("KMS_KEY_ARN", arn)
		fmt.Fprintln(ts.Stdout(), arn)
	case "kms-disable":
		if len(args) != 2 {
			ts.Fatalf("usage: awsemu kms-disable KEY")
		}
		if err := e.SetKMSKeyEnabled(args[1], false); err != nil {
			ts.Fatalf("awsemu kms-disable %s: %v", args[1], err)
		}
	default:
		return false
	}
	return true
}
