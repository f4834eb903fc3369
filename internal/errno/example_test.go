package errno_test

import (
	"errors"
	"fmt"

	"github.com/arenasim/arenasim/internal/errno"
)

func Example() {
	err := errno.Errorf(errno.E2BIG, "vm_area_map_pages")
	fmt.Println(err)
	fmt.Println(errors.Is(err, errno.E2BIG), errno.Of(err).Neg())
	// Output:
	// vm_area_map_pages: E2BIG (Argument list too long)
	// true -7
}
