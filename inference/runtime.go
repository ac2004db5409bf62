package inference

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// EnvLibrary names the environment variable that points at ONNX Runtime's shared library.
const EnvLibrary = "SYNAPSE_ONNXRUNTIME_LIB"

// cachedLibrary is where `make onnxruntime` puts the library (from the npm package
// onnxruntime-node@1.24.1), relative to the repository root.
const cachedLibrary = ".cache/onnxruntime/libonnxruntime.so.1"

var runtime struct {
	sync.Mutex
	path string
	err  error
	done bool
}

// LibraryPath finds ONNX Runtime's shared library: flag (--onnxruntime-lib) if given, else
// $SYNAPSE_ONNXRUNTIME_LIB, else .cache/onnxruntime/libonnxruntime.so.1 in the current
// directory or the nearest parent holding a go.mod, or beside the executable's parent.
func LibraryPath(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if env := os.Getenv(EnvLibrary); env != "" {
		return env, nil
	}
	var tried []string
	if dir, err := os.Getwd(); err == nil {
		for {
			p := filepath.Join(dir, cachedLibrary)
			tried = append(tried, p)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(filepath.Dir(exe)), cachedLibrary)
		tried = append(tried, p)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: libonnxruntime.so.1 not found (tried %v): run `make onnxruntime` to fetch it, or point %s or --onnxruntime-lib at it", ErrRuntime, tried, EnvLibrary)
}

// InitRuntime loads ONNX Runtime once per process from libPath (or LibraryPath("")). A
// second call with another library is an error: one process holds one runtime.
func InitRuntime(libPath string) error {
	runtime.Lock()
	defer runtime.Unlock()
	if runtime.done {
		if libPath != "" && libPath != runtime.path && runtime.err == nil {
			return fmt.Errorf("%w: ONNX Runtime already loaded from %s, not %s", ErrRuntime, runtime.path, libPath)
		}
		return runtime.err
	}
	path, err := LibraryPath(libPath)
	if err != nil {
		return err // not cached: a later call may find it
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%w: %v: run `make onnxruntime`, or point %s or --onnxruntime-lib at libonnxruntime.so.1", ErrRuntime, err, EnvLibrary)
	}
	runtime.done, runtime.path = true, path
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		runtime.err = fmt.Errorf("%w: loading %s: %v (is it ONNX Runtime 1.24's libonnxruntime.so.1 for this platform? `make onnxruntime` fetches it)", ErrRuntime, path, err)
		return runtime.err
	}
	return nil
}

// RuntimeVersion is the loaded ONNX Runtime's version, or "" before InitRuntime.
func RuntimeVersion() string {
	if !ort.IsInitialized() {
		return ""
	}
	return ort.GetVersion()
}

var errNotInitialized = errors.New("call InitRuntime first")
