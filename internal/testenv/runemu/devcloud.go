package runemu

// ExportLine is the shell line that points pipe at an emulator at url.
func ExportLine(url, project string) string {
	return "export PIPE_CLOUDRUN_ENDPOINT=" + url + " PIPE_CLOUDRUN_PROJECT=" + project
}
