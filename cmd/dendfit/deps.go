package main
import (
 _ "github.com/spf13/cobra"
 _ "go.yaml.in/yaml/v3"
 _ "github.com/mattn/go-sqlite3"
 _ "golang.org/x/sync/errgroup"
 _ "gonum.org/v1/gonum/optimize"
 _ "gonum.org/v1/plot"
 _ "golang.org/x/term"
)
func main(){}
