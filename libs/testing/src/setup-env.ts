// The AWS SDK warns on every client about Node 20 support; the version is pinned deliberately.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
