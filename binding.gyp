{
  # The TAP device addon (stack/link/tap.ts loads build/Release/tap.node). npm runs
  # `node-gyp rebuild` for a root package with a binding.gyp and no install script, so
  # `npm ci` builds it with nothing else to run. Linux only (TUNSETIFF).
  'targets': [
    {
      'target_name': 'tap',
      'sources': ['native/tap.cc'],
      'dependencies': ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      'cflags_cc': ['-std=c++17', '-Wall', '-Wextra', '-O2']
    }
  ]
}
