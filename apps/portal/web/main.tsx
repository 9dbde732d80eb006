import { render } from 'preact';

render(<p>smsgw portal</p>, document.getElementById('app')!);
