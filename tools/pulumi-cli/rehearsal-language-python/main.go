// Command pulumi-language-python here is a REHEARSAL SUBSTITUTE for Pulumi's Python language
// host, not the real one. The Go module proxy does not serve the real host's module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3), so `make pulumi-cli`
// builds this stand-in so that the real Pulumi CLI and engine can run the program offline.
//
// It serves the LanguageRuntime methods the CLI calls for stack init, preview, up, destroy and
// policy packs, on top of the Pulumi SDK's own pieces:
//   - python/toolchain resolves Pulumi.yaml's runtime options (toolchain pip, virtualenv venv),
//     creates the virtualenv if it is missing and builds every python command;
//   - python/cmd/pulumi-language-python-exec, copied next to this binary by the Makefile,
//     runs __main__.py against the engine's resource monitor;
//   - PolicyProxy hands a Python policy pack its stack configuration, as pulumi.policy expects.
//
// Everything else (code generation, templates, packing, linking, debugging, typecheckers,
// the dependency list of `pulumi about`, Python plugins other than policy packs) answers
// Unimplemented or a clear error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	execScriptName = "pulumi-language-python-exec"
	// pulumi-language-python-exec exits with this code after it has logged the user an
	// actionable error (an unhandled exception and its traceback): no second message is wanted.
	// After a pulumi.RunError it exits 1, which is reported like any other exit code.
	exitAfterUserMessage = 32
	healthcheckPeriod    = 5 * time.Minute
)

// pluginJSONScript prints the pulumi-plugin.json of every installed distribution as a JSON
// list: the same files the real host reads to learn which provider plugins a program needs.
const pluginJSONScript = `import importlib.metadata, json
print(json.dumps([json.loads(f.read_text()) for d in importlib.metadata.distributions()
                  for f in (d.files or []) if f.name == "pulumi-plugin.json"]))`

func main() {
	// The engine passes --tracing to plugins when tracing is on; this host traces nothing. (Its
	// -v and --logtostderr are registered by the SDK's logging dependency.)
	flag.String("tracing", "", "accepted for compatibility; ignored")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version())
		return
	}

	self, err := os.Executable()
	if err != nil {
		cmdutil.Exit(err)
	}
	execScript := filepath.Join(filepath.Dir(self), execScriptName)
	if _, err := os.Stat(execScript); err != nil {
		cmdutil.Exit(fmt.Errorf("the rehearsal Python language host needs %s next to it (make pulumi-cli copies it): %w",
			execScriptName, err))
	}

	h := newHost(execScript)
	if flag.NArg() > 0 {
		if err := h.watchEngine(flag.Arg(0)); err != nil {
			cmdutil.Exit(err)
		}
	}
	stop := make(chan bool)
	go func() { <-h.serverCtx.Done(); close(stop) }()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start the language host's gRPC server: %w", err))
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(err)
	}
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	execScript    string
	engineAddress string
	serverCtx     context.Context // cancelled when the engine goes away: stops the server
	stopServer    context.CancelFunc
	runCtx        context.Context // also cancelled by the Cancel RPC: stops running programs
	cancelRuns    context.CancelFunc
}

func newHost(execScript string) *host {
	h := &host{execScript: execScript}
	h.serverCtx, h.stopServer = context.WithCancel(context.Background())
	h.runCtx, h.cancelRuns = context.WithCancel(h.serverCtx)
	return h
}

// watchEngine remembers the engine's address and stops serving when the engine stops answering.
func (h *host) watchEngine(address string) error {
	h.engineAddress = address
	if err := rpcutil.Healthcheck(h.serverCtx, address, healthcheckPeriod, h.stopServer); err != nil {
		return fmt.Errorf("could not start the health check of the engine at %s: %w", address, err)
	}
	return nil
}

// toolchainOf resolves the python toolchain from the runtime options in Pulumi.yaml or
// PulumiPolicy.yaml. Python plugins other than policy packs default to a venv/ virtualenv.
func toolchainOf(info *pulumirpc.ProgramInfo, defaultVenv bool) (toolchain.Toolchain, error) {
	opts := toolchain.PythonOptions{Root: info.RootDirectory, ProgramDir: info.ProgramDirectory}
	for key, value := range info.Options.AsMap() {
		text, ok := value.(string)
		if !ok {
			return nil, fmt.Errorf("runtime option %s must be a string, got %v", key, value)
		}
		switch key {
		case "virtualenv":
			opts.Virtualenv = text
		case "toolchain":
			switch text {
			case "pip":
				opts.Toolchain = toolchain.Pip
			case "poetry":
				opts.Toolchain = toolchain.Poetry
			case "uv":
				opts.Toolchain = toolchain.Uv
			default:
				return nil, fmt.Errorf("runtime option toolchain = %q is not supported: one of pip, poetry, uv", text)
			}
		default:
			return nil, fmt.Errorf("runtime option %s is not supported by the rehearsal Python language host", key)
		}
	}
	if defaultVenv && opts.Virtualenv == "" && (opts.Toolchain == toolchain.Pip || opts.Toolchain == toolchain.Auto) {
		opts.Virtualenv = "venv"
	}
	return toolchain.ResolveToolchain(opts)
}

func (h *host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if err := h.watchEngine(req.EngineAddress); err != nil {
		return nil, err
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetPluginInfo reports the version of the SDK this host was built from, marked as a rehearsal build.
func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version()}, nil
}

func version() string {
	return sdk.Version.String() + "+rehearsal"
}

// GetRequiredPackages creates the virtualenv if it is missing, then lists the provider plugins
// that the installed Pulumi packages declare in their pulumi-plugin.json.
func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	tc, err := toolchainOf(req.Info, false)
	if err != nil {
		return nil, err
	}
	if err := tc.EnsureVenv(ctx, req.Info.ProgramDirectory, false, true, os.Stdout, os.Stderr); err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-c", pluginJSONScript)
	if err != nil {
		return nil, err
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing pulumi-plugin.json files with %s: %w", cmd.Path, err)
	}
	var declared []plugin.PulumiPluginJSON
	if err := json.Unmarshal(out, &declared); err != nil {
		return nil, fmt.Errorf("reading pulumi-plugin.json files: %w", err)
	}
	var packages []*pulumirpc.PackageDependency
	for _, p := range declared {
		if !p.Resource {
			continue
		}
		if p.Parameterization != nil || p.ExtensionParameterization != nil {
			return nil, fmt.Errorf("package %s is parameterized, which the rehearsal Python language host does not support", p.Name)
		}
		packages = append(packages, &pulumirpc.PackageDependency{
			Kind: string(apitype.ResourcePlugin), Name: p.Name, Version: "v" + p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

// Run runs the program through pulumi-language-python-exec in the project's virtualenv.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if h.engineAddress == "" {
		return nil, errors.New("the engine address is unknown: Handshake must come before Run")
	}
	tc, err := toolchainOf(req.Info, false)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	config := req.Config
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(append([]string{}, req.ConfigSecretKeys...))
	if err != nil {
		return nil, err
	}

	args := []string{h.execScript}
	for _, flagValue := range [][2]string{
		{"monitor", req.MonitorAddress},
		{"engine", h.engineAddress},
		{"project", req.Project},
		{"root_directory", req.Info.RootDirectory},
		{"stack", req.Stack},
		{"pwd", req.Pwd},
		{"dry_run", strconv.FormatBool(req.DryRun)},
		{"parallel", strconv.Itoa(int(req.Parallel))},
		{"organization", req.Organization},
	} {
		if flagValue[1] != "" {
			args = append(args, "--"+flagValue[0], flagValue[1])
		}
	}
	args = append(append(args, req.Info.EntryPoint), req.Args...)

	runCtx, stop := context.WithCancel(h.runCtx)
	defer stop()
	context.AfterFunc(ctx, stop)
	cmd, err := tc.Command(runCtx, args...)
	if err != nil {
		return nil, err
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "PULUMI_CONFIG="+string(configJSON), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr

	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitAfterUserMessage:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run %s: %v", h.execScript, err)}, nil
	}
}

// RunPlugin starts a Python policy pack (`python -u -m pulumi.policy <engine> <pack dir>`) in
// the pack's directory, after giving it the stack configuration through the SDK's PolicyProxy.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	if req.Kind != string(apitype.AnalyzerPlugin) {
		return fmt.Errorf("the rehearsal Python language host runs policy packs only, not %s plugins (%s)",
			req.Kind, req.Info.ProgramDirectory)
	}
	ctx := server.Context()
	tc, err := toolchainOf(req.Info, false)
	if err != nil {
		return err
	}
	args := append(append([]string{"-u", "-m", "pulumi.policy"}, req.Args...), req.Info.ProgramDirectory)
	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return err
	}
	cmd.Dir = req.Info.ProgramDirectory

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	proxy, stdout, err := sdk.NewPolicyProxy(ctx, stdout)
	if err != nil {
		return fmt.Errorf("could not start the policy pack proxy: %w", err)
	}
	stack, err := proxy.AwaitConfiguration(ctx)
	if err != nil {
		return fmt.Errorf("could not get the stack configuration: %w", err)
	}
	if stack != nil {
		config, err := json.Marshal(stack.Config)
		if err != nil {
			return err
		}
		cmd.Env = append(cmd.Env, "PULUMI_ORGANIZATION="+stack.Organization, "PULUMI_PROJECT="+stack.Project,
			"PULUMI_STACK="+stack.Stack, "PULUMI_DRY_RUN="+strconv.FormatBool(stack.DryRun), "PULUMI_CONFIG="+string(config))
	}
	cmd.Env = append(cmd.Env, req.Env...)
	cmd.Stdout, cmd.Stderr = stdout, stderr

	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start the policy pack in %s: %w", req.Info.ProgramDirectory, err)
	}
	var exitErr *exec.ExitError
	if err := proxy.Attach(ctx, cmd); errors.As(err, &exitErr) {
		return server.Send(&pulumirpc.RunPluginResponse{
			Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())},
		})
	} else if err != nil {
		return err
	}
	return closer.Close()
}

// About names the python the program runs on, for the update's metadata and `pulumi about`.
func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	if req.Info == nil {
		return nil, errors.New("the rehearsal Python language host needs the program's info for About")
	}
	tc, err := toolchainOf(req.Info, false)
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: info.PythonExecutable,
		Version:    info.PythonVersion.String(),
		Metadata:   map[string]string{"languageHost": "rehearsal substitute (tools/pulumi-cli)"},
	}, nil
}

// InstallDependencies creates the virtualenv and installs requirements.txt into it
// (`pulumi install`, and a policy pack's dependencies).
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	tc, err := toolchainOf(req.Info, req.IsPlugin)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.IsTerminal)
	if err != nil {
		return err
	}
	defer closer.Close()
	if err := tc.InstallDependencies(server.Context(), req.Info.ProgramDirectory, req.UseLanguageVersionTools,
		true, stdout, stderr); err != nil {
		return err
	}
	return closer.Close()
}

// Cancel stops any program this host is running.
func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancelRuns()
	return &emptypb.Empty{}, nil
}
