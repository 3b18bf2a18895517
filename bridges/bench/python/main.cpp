// bench_python's main: the interpreter must be up before any benchmark runs and
// its GIL free, so that every benchmark thread takes it as a server thread would.
#include "fixture.hpp"

#include <pybind11/embed.h>

int main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    pybind11::initialize_interpreter(false); // keep default SIGINT: Ctrl-C ends the program
    hbbench::make_fixture();
    PyThreadState *main_state = PyEval_SaveThread();

    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();

    PyEval_RestoreThread(main_state);
    hbbench::destroy_fixture();
    pybind11::finalize_interpreter();
    return 0;
}
