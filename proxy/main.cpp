#include "proxy/app.h"

int main(int argc, char** argv) { return sos::proxy::runApp(argc, argv); }
