package deploycheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Commands maps each subcommand of cmd/bridge to the flags it defines. It is read from the
// source: the string cases of the switch in func run name the subcommands, the cmdX function
// each case calls defines the flags with fs.String, fs.Bool, fs.Duration, fs.Int, ... calls.
// A subcommand whose case calls no cmdX function (version, help) has no flags.
type Commands map[string]map[string]bool

// BridgeCommands reads the subcommands and flags of cmd/bridge.
func BridgeCommands(t testing.TB) Commands {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(RepoPath(t, "cmd/bridge/*.go"))
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]*ast.FuncDecl{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				funcs[fd.Name.Name] = fd
			}
		}
	}
	run := funcs["run"]
	if run == nil {
		t.Fatal("cmd/bridge has no func run")
	}
	cmds := Commands{}
	ast.Inspect(run.Body, func(n ast.Node) bool {
		clause, ok := n.(*ast.CaseClause)
		if !ok {
			return true
		}
		flags := map[string]bool{}
		if fn := calledCommand(clause, funcs); fn != nil {
			flags = definedFlags(fn)
		}
		for _, e := range clause.List {
			if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				name, _ := strconv.Unquote(lit.Value)
				cmds[name] = flags
			}
		}
		return false
	})
	if len(cmds) == 0 {
		t.Fatal("no subcommands found in cmd/bridge func run")
	}
	return cmds
}

// calledCommand returns the cmdX function a case clause calls, if any.
func calledCommand(clause *ast.CaseClause, funcs map[string]*ast.FuncDecl) *ast.FuncDecl {
	var found *ast.FuncDecl
	for _, stmt := range clause.Body {
		ast.Inspect(stmt, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); ok && strings.HasPrefix(id.Name, "cmd") && funcs[id.Name] != nil {
				found = funcs[id.Name]
			}
			return true
		})
	}
	return found
}

var flagDefiners = []string{
	"String", "Bool", "Duration", "Int", "Int64", "Uint", "Uint64", "Float64", "Func", "BoolFunc",
	"StringVar", "BoolVar", "DurationVar", "IntVar", "Int64Var", "UintVar", "Uint64Var", "Float64Var",
	"Var", "TextVar",
}

// definedFlags collects the flag name of every fs.<Definer>("name", ...) and
// fs.<Definer>Var(&v, "name", ...) call in fn.
func definedFlags(fn *ast.FuncDecl) map[string]bool {
	flags := map[string]bool{"help": true, "h": true}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !slices.Contains(flagDefiners, sel.Sel.Name) {
			return true
		}
		args := call.Args
		if strings.HasSuffix(sel.Sel.Name, "Var") {
			args = args[1:]
		}
		if len(args) == 0 {
			return true
		}
		if lit, ok := args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			name, _ := strconv.Unquote(lit.Value)
			flags[name] = true
		}
		return true
	})
	return flags
}

// Check reports what is wrong with args as a command line of the bridge binary: an unknown
// subcommand, an unknown flag, or a stray argument. It returns the flag values it saw.
func (cmds Commands) Check(args []string) (map[string]string, []string) {
	if len(args) == 0 {
		return nil, []string{"no subcommand"}
	}
	flags, ok := cmds[args[0]]
	if !ok {
		return nil, []string{"unknown subcommand " + strconv.Quote(args[0])}
	}
	values := map[string]string{}
	var problems []string
	for i := 1; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") {
			problems = append(problems, "unexpected argument "+strconv.Quote(arg))
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !flags[name] {
			problems = append(problems, args[0]+": unknown flag "+strconv.Quote(arg))
			continue
		}
		if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			value = args[i]
		}
		values[name] = value
	}
	return values, problems
}
